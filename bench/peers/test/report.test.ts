import { describe, expect, it } from 'vitest';
import { missingPackages } from '../src/install';
import { parseOptions } from '../src/options';
import { comparisonText, formatTable, type RunResult, renderSvg, summarize } from '../src/report';
import type { ConfigName, SystemName } from '../src/systems/types';

function run(
  system: SystemName,
  config: ConfigName,
  rtoMs: number | null,
  extra: Partial<RunResult> = {},
): RunResult {
  return {
    system,
    config,
    run: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    faultAt: '2026-01-01T00:00:03.000Z',
    setupMs: 1,
    rtoMs,
    stallMs: rtoMs ?? 60_000,
    failed: 10,
    requests: 100,
    errors: [],
    audit: { acked: 50, lost: 0, duplicated: 0, appliedUnacked: 0, lostSample: [] },
    spurious: 0,
    loadAverage: { mean: 5, max: 6 },
    perSecond: [],
    details: {},
    notes: [],
    ...extra,
  };
}

const summaries = [
  summarize('project', 'default', 'lab defaults', [
    run('project', 'default', 1_000),
    run('project', 'default', 2_000),
    run('project', 'default', 1_500),
  ]),
  summarize('patroni', 'default', 'ttl 30', [
    run('patroni', 'default', 30_000),
    run('patroni', 'default', 31_000, { spurious: 1 }),
    run('patroni', 'default', null),
  ]),
  summarize('sentinel', 'tuned', 'down-after 1000', [
    run('sentinel', 'tuned', 2_300, { failed: 0 }),
    run('sentinel', 'tuned', 2_400, { failed: 0 }),
    run('sentinel', 'tuned', 0, { failed: 0, error: 'setup failed' }),
  ]),
];

it('leaves a run without an audit (the system never came back) out of the write figures only', () => {
  const lost = (n: number) => ({ acked: 9, lost: n, duplicated: 0, appliedUnacked: 0, lostSample: [] });
  const x = summarize('project', 'default', '', [
    run('project', 'default', 1_000, { audit: lost(2) }),
    run('project', 'default', null, { audit: null, spurious: null }),
    run('project', 'default', 3_000, { audit: lost(4) }),
  ]);
  expect(x.runs).toBe(3);
  expect(x.rtoMs).toEqual({ median: 3_000, worst: null });
  expect(x.lost).toEqual({ median: 3, worst: 4 });
  expect(x.spurious).toEqual({ median: 0, worst: 0 });
});

describe('summaries and the table', () => {
  it('takes median and worst over measured runs; a broken run is counted, not measured', () => {
    const [, patroni, sentinel] = summaries;
    expect(patroni!.rtoMs).toEqual({ median: 31_000, worst: null });
    expect(patroni!.spurious).toEqual({ median: 0, worst: 1 });
    expect(sentinel!.runs).toBe(2);
    expect(sentinel!.brokenRuns).toBe(1);
    expect(sentinel!.rtoMs).toEqual({ median: 2_350, worst: 2_400 });
  });

  it('prints median / worst with the ratio of each peer median to the project', () => {
    const lines = formatTable(summaries).split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^\| system .*\| RTO s .*\| spurious failovers .*\| load avg 1m .*\|$/);
    const project = lines.find((l) => l.includes('failover-lab'))!;
    expect(project).toContain('1.50 / 2.00');
    expect(project).not.toContain('×');
    const patroni = lines.find((l) => l.includes('Patroni'))!;
    expect(patroni).toContain('31.00 / n/r (×21)');
    expect(patroni).toContain('10 / 10 (×1.0)');
    expect(patroni).toContain('0 / 0 (=)');
    const sentinel = lines.find((l) => l.includes('Sentinel'))!;
    expect(sentinel).toContain('2 (+1 broken)');
    expect(sentinel).toContain('2.35 / 2.40 (×1.6)');
    // every row has the same width: a table that lines up as plain text too
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });

  it('says what Patroni lease wait and Sentinel quorum buy', () => {
    const text = comparisonText(summaries);
    expect(text).toMatch(/lease/);
    expect(text).toMatch(/without a central router/);
    expect(text).toMatch(/quorum/i);
    expect(text).toContain('31.00 s (×21 the project)');
    expect(text).toContain('not measured tuned');
  });

  it('draws one bar per configuration and panel, escaping text', () => {
    const svg = renderSvg(summaries, 'load <7> & more');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toMatch(/^<svg [^>]*>\n<title>[^<]+<\/title>/);
    expect(svg).toContain('load &lt;7&gt; &amp; more');
    // 3 panels × 3 configurations, all with a median
    expect(svg.match(/<rect x="290"/g)).toHaveLength(9);
    expect(svg).toContain('Patroni + etcd + HAProxy · default (3 runs)');
    expect(svg).not.toContain('NaN');
  });
});

describe('options', () => {
  it('has defaults that fit the budget and reads LAB_SUBNET', () => {
    const parsed = parseOptions([], { LAB_SUBNET: '33' });
    if ('error' in parsed) throw new Error(parsed.error);
    expect(parsed.options.subnet).toBe(33);
    expect(parsed.options.runs).toBeUndefined();
    expect(parsed.options.rate).toBe(40);
  });

  it('parses runs, a selection and the output folder', () => {
    const parsed = parseOptions(['--runs', '2', '--only', 'project,sentinel:tuned', '--out', '/tmp/x']);
    if ('error' in parsed) throw new Error(parsed.error);
    expect(parsed.options).toMatchObject({
      runs: 2,
      minRuns: 2,
      only: ['project', 'sentinel:tuned'],
      out: '/tmp/x',
    });
  });

  it('refuses what it does not know', () => {
    expect(parseOptions(['--only', 'zookeeper'])).toEqual({ error: '--only: unknown zookeeper' });
    expect(parseOptions(['--runs', '0'])).toEqual({ error: '--runs must be an integer 1-50' });
    expect(parseOptions(['--frobnicate'])).toEqual({ error: 'unknown option --frobnicate' });
    expect('error' in parseOptions([], { LAB_SUBNET: '0' })).toBe(true);
  });
});

describe('packages', () => {
  it('names the Debian packages of the missing binaries, once each', () => {
    expect(missingPackages(() => true)).toEqual([]);
    const missing = missingPackages((path) => !path.includes('patroni') && !path.includes('etcd'));
    expect(missing).toEqual(['patroni', 'python3-etcd', 'etcd-server', 'etcd-client']);
  });
});
