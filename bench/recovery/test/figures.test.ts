// The recovery benchmark's pure parts: figures from a report, median/worst, the table, options.
import type { DrillReport } from '@failover-lab/contracts';
import { describe, expect, it } from 'vitest';
import { figuresOf, markdownTable, medianAndWorst } from '../src/figures';
import { parseOptions } from '../src/options';

const fault = Date.parse('2026-11-26T09:00:00.000Z');
const at = (ms: number) => new Date(fault + ms).toISOString();
const service = (maxStallMs: number, failed: number, lostAckedWrites = 0) =>
  ({ maxStallMs, failed, lostAckedWrites }) as DrillReport['services']['login'];
const phases = (routeMs: number) => ({ detectMs: 60, decideMs: 2, promoteMs: 90, routeMs });

const report = {
  scenario: 'region-kill',
  verdict: 'pass',
  fault: { kind: 'region-kill', target: 'dc-a', injectedAt: at(0) },
  // messaging did not fail over: its stall (the machine's) is not the failover's
  services: { login: service(300, 0), payments: service(420, 1, 0), messaging: service(900, 0) },
  phases: { login: phases(5), payments: phases(9) },
  events: [
    { at: at(-5_000), type: 'routed', service: 'payments', region: 'dc-a', epoch: 1 }, // before the fault
    { at: at(170), type: 'routed', service: 'login', region: 'dc-b', epoch: 2 },
    { at: at(230), type: 'routed', service: 'payments', region: 'dc-b', epoch: 2 },
  ],
} as unknown as DrillReport;

describe('recovery figures', () => {
  it('take the longest stall of a failed-over service, the last routed after the fault, and the sums', () => {
    const f = figuresOf(report, 3, { start: 4.2, end: 5.1 }, 31_000);
    expect(f).toMatchObject({
      scenario: 'region-kill',
      run: 3,
      verdict: 'pass',
      stallMs: 420,
      routedMs: 230,
      failed: 1,
      lostPayments: 0,
      loadStart: 4.2,
      phases: phases(9),
    });
  });

  it('nothing routed after the fault: null, never 0', () => {
    const none = { ...report, events: report.events.slice(0, 1) } as DrillReport;
    expect(figuresOf(none, 1, { start: 1, end: 1 }, 1).routedMs).toBeNull();
  });

  it('median is the lower middle, worst the largest; nulls are left out', () => {
    expect(medianAndWorst([300, null, 100, 200, 900])).toEqual({ median: 200, worst: 900 });
    expect(medianAndWorst([4, 1])).toEqual({ median: 1, worst: 4 });
    expect(medianAndWorst([null])).toBeNull();
  });

  it('the table has a row per run and a summary per scenario', () => {
    const runs = [1, 2, 3].map((i) => figuresOf(report, i, { start: i, end: i + 1 }, 30_000));
    const table = markdownTable(runs, new Date(fault));
    expect(table).toContain('3 run(s) per scenario');
    expect(table).toContain('| region-kill | 3 | 3 | 420 ms / 420 ms | 230 ms / 230 ms | 1 / 1 | 0 | 2.5 |');
  });

  it('options: --runs, --scenarios, bad input named', () => {
    const ok = parseOptions(['--runs', '3', '--scenarios', 'db-kill'], {});
    expect(ok).toMatchObject({ options: { runs: 3, scenarios: ['db-kill'] } });
    expect(parseOptions([], {})).toMatchObject({
      options: { runs: 10, scenarios: ['region-kill', 'db-kill'] },
    });
    expect(parseOptions(['--runs', '0'], {})).toEqual({ error: '--runs must be an integer 1-1000' });
    expect(parseOptions(['--bogus', '1'], {})).toEqual({ error: 'unknown option --bogus' });
  });
});
