// The detection sweep's pure parts: the grid, a point's summary, the frontier, the table and the plot.
import {
  type DrillReport,
  problemsOf,
  type SweepReport,
  SweepReportSchema,
  type SweepRun,
} from '@failover-lab/contracts';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_KNOBS,
  markFrontier,
  renderSweepMarkdown,
  SWEEP_GRID,
  summarizePoint,
  sweepGrid,
} from '../src/sweep/analysis';
import { niceTicks, renderSweepSvg } from '../src/sweep/plot';
import { promotedBeforeFault, sweepRun } from '../src/sweep/run';

const run = (detectMs: number | null, falseFailovers: number, rtoMs: number | null = 900): SweepRun => ({
  detectMs,
  rtoMs,
  falseFailovers,
  stall: { verdict: 'pass', report: 'x/stall' },
  noFault: { verdict: falseFailovers > 0 ? 'fail' : 'pass', report: 'x/no-fault' },
  loadAverage: 6.5,
});

describe('the grid', () => {
  it("starts with the router's default and has 6-8 distinct settings", () => {
    expect(DEFAULT_KNOBS).toEqual({ intervalMs: 200, timeoutMs: 500, fall: 3 });
    expect(SWEEP_GRID[0]).toEqual(DEFAULT_KNOBS);
    expect(SWEEP_GRID.length).toBeGreaterThanOrEqual(6);
    expect(SWEEP_GRID.length).toBeLessThanOrEqual(8);
    expect(new Set(SWEEP_GRID.map((k) => JSON.stringify(k))).size).toBe(SWEEP_GRID.length);
  });

  it('a reduced grid is a prefix, and always holds the default', () => {
    expect(sweepGrid(1)).toEqual([DEFAULT_KNOBS]);
    expect(sweepGrid(3)).toEqual(SWEEP_GRID.slice(0, 3));
    expect(() => sweepGrid(0)).toThrow(RangeError);
    expect(() => sweepGrid(SWEEP_GRID.length + 1)).toThrow(RangeError);
  });
});

describe('a point and the frontier', () => {
  it('takes medians over the runs that measured, and false failovers per episode', () => {
    const p = summarizePoint(DEFAULT_KNOBS, [run(900, 0), run(null, 1), run(700, 0), run(1_100, 1)]);
    expect(p.isDefault).toBe(true);
    expect(p.detectMedianMs).toBe(900);
    expect(p.falseFailoverRate).toBe(0.5);
    expect(summarizePoint({ intervalMs: 100, timeoutMs: 200, fall: 2 }, []).detectMedianMs).toBeNull();
  });

  it('leaves a run that did not finish out of the figures, and says so in the table', () => {
    const p = summarizePoint(DEFAULT_KNOBS, [
      run(900, 1),
      { ...run(null, 0), error: 'not in steady state after 90000 ms' },
    ]);
    expect(p.detectMedianMs).toBe(900);
    expect(p.falseFailoverRate).toBe(1);
    const md = renderSweepMarkdown({
      startedAt: '2026-11-26T12:00:00.000Z',
      endedAt: '2026-11-26T12:10:00.000Z',
      stall: 's',
      noFault: 'n',
      runsPerPoint: 2,
      points: markFrontier([p]),
    });
    expect(md).toContain('| 2 (1 did not finish) | yes |');
    expect(md).toContain('- 200/500/3 run 2 did not finish: not in steady state after 90000 ms');
  });

  it('keeps a point unless another is at least as good on both axes and better on one', () => {
    const fastNoisy = summarizePoint({ intervalMs: 100, timeoutMs: 200, fall: 2 }, [run(300, 2)]);
    const balanced = summarizePoint(DEFAULT_KNOBS, [run(900, 0)]);
    const slowQuiet = summarizePoint({ intervalMs: 1_000, timeoutMs: 2_000, fall: 3 }, [run(6_000, 0)]);
    const dominated = summarizePoint({ intervalMs: 200, timeoutMs: 300, fall: 2 }, [run(950, 1)]);
    const never = summarizePoint({ intervalMs: 500, timeoutMs: 1_000, fall: 5 }, [run(null, 0)]);
    const marked = markFrontier([fastNoisy, balanced, slowQuiet, dominated, never]);
    expect(marked.map((p) => p.onFrontier)).toEqual([true, true, false, false, false]);
    // a tie is not domination
    expect(
      markFrontier([balanced, { ...balanced, knobs: { ...balanced.knobs, fall: 4 } }]).every(
        (p) => p.onFrontier,
      ),
    ).toBe(true);
  });
});

describe('the outputs', () => {
  const points = markFrontier([
    summarizePoint(DEFAULT_KNOBS, [run(900, 0), run(1_000, 0)]),
    summarizePoint({ intervalMs: 100, timeoutMs: 200, fall: 2 }, [run(300, 2), run(320, 1)]),
    summarizePoint({ intervalMs: 1_000, timeoutMs: 2_000, fall: 3 }, [run(6_000, 0), run(6_200, 0)]),
    summarizePoint({ intervalMs: 500, timeoutMs: 1_000, fall: 5 }, [run(null, 0), run(null, 0)]),
  ]);
  const report = {
    startedAt: '2026-11-26T12:00:00.000Z',
    endedAt: '2026-11-26T12:30:00.000Z',
    stall: 'region-freeze',
    noFault: 'latency-spikes, with stress-ng --cpu 2',
    runsPerPoint: 2,
    points,
  };

  it('sweep.json follows the contract', () => {
    expect(problemsOf(SweepReportSchema, JSON.parse(JSON.stringify(report)))).toEqual([]);
  });

  it('the table marks the default and the frontier', () => {
    const md = renderSweepMarkdown(report);
    expect(md).toContain('| 200/500/3 (default) | 950 ms | 900 ms | 0.00 | 2 | yes |');
    expect(md).toContain('| 100/200/2 | 310 ms | 900 ms | 1.50 | 2 | yes |');
    expect(md).toContain('| 1000/2000/3 | 6100 ms | 900 ms | 0.00 | 2 |  |');
    expect(md).toContain('load average 6.5–6.5');
  });

  it('the plot joins the frontier, rings the default, names what never detected, and is self-contained', () => {
    const svg = renderSweepSvg(points);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/class="point/g)).toHaveLength(3);
    expect(svg.match(/class="point on-frontier"/g)).toHaveLength(2);
    expect(svg).toMatch(/<polyline class="frontier" points="[\d.]+,[\d.]+ [\d.]+,[\d.]+"/);
    expect(svg.match(/class="default"/g)).toHaveLength(1);
    expect(svg).toContain('200/500/3 (default)');
    expect(svg).toContain('never detected the stall: 500/1000/5');
    expect(svg).not.toMatch(/<script|<link|@import|href=/);
  });

  it('moves a label that would overlap a neighbour up a line', () => {
    const close = markFrontier([
      summarizePoint({ intervalMs: 100, timeoutMs: 200, fall: 2 }, [run(556, 3)]),
      summarizePoint({ intervalMs: 200, timeoutMs: 300, fall: 2 }, [run(786, 3)]),
      summarizePoint({ intervalMs: 100, timeoutMs: 300, fall: 3 }, [run(1_014, 3)]),
      summarizePoint({ intervalMs: 5_000, timeoutMs: 300, fall: 3 }, [run(7_000, 3)]),
    ]);
    const ys = [...renderSweepSvg(close).matchAll(/<text x="[\d.]+" y="([\d.]+)"[^>]*>\d+\/\d+\/\d+/g)].map(
      (m) => Number(m[1]),
    );
    expect(ys).toHaveLength(4);
    // the three close ones on three lines; the far one back on the first
    expect(new Set(ys.slice(0, 3)).size).toBe(3);
    expect(ys[3]).toBe(ys[0]);
  });

  it('axis ticks are round and cover the data', () => {
    expect(niceTicks(6_100)).toEqual([0, 2000, 4000, 6000, 8000]);
    expect(niceTicks(1.5)).toEqual([0, 0.5, 1, 1.5]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });
});

describe("a run's figures from its drill reports", () => {
  const faultAt = '2026-11-26T12:24:41.530Z';
  /** the parts of a drill report a run reads */
  const report = (opts: { promotedBefore?: string[]; failedOver?: string[]; detectMs?: number | null }) =>
    ({
      verdict: 'fail',
      fault: { kind: 'region_freeze', target: 'dc-a', injectedAt: faultAt },
      phases: { login: { detectMs: opts.detectMs ?? 300 }, payments: { detectMs: 200 } },
      services: Object.fromEntries(
        ['login', 'payments', 'messaging'].map((s) => [
          s,
          { failedOver: opts.failedOver?.includes(s) ?? false, rtoMs: s === 'payments' ? 6_600 : 900 },
        ]),
      ),
      events: (opts.promotedBefore ?? []).flatMap((service) => [
        { at: '2026-11-26T12:24:37.995Z', type: 'promote_started', service, region: 'dc-b', epoch: 2 },
        { at: '2026-11-26T12:24:39.056Z', type: 'promoted', service, region: 'dc-b', epoch: 2 },
      ]),
    }) as unknown as DrillReport;
  const dirs = { stall: 'x/stall', noFault: 'x/no-fault' };

  it('counts a failover in the stall episode before its fault as a false one, beside the no-fault episode', () => {
    const stall = report({ promotedBefore: ['messaging'], failedOver: ['login', 'payments', 'messaging'] });
    expect(promotedBeforeFault(stall)).toEqual(['messaging']);
    const r = sweepRun(stall, report({ failedOver: ['login'] }), dirs, 17);
    expect(r.falseFailovers).toBe(2);
    expect(r.detectMs).toBe(300);
    expect(r.rtoMs).toBe(6_600);
    // the no-fault episode did not run: what the stall saw is a floor
    expect(sweepRun(stall, null, dirs, 17)).toMatchObject({
      falseFailovers: 1,
      noFault: { verdict: 'fail' },
    });
  });

  it("keeps a partial run's stall figures in the point, and says which runs were partial", () => {
    const partial: SweepRun = {
      ...run(250, 1, null),
      error: 'after its report: not in steady state after 90000 ms (the no-fault episode did not run)',
      partial: true,
    };
    const p = summarizePoint({ intervalMs: 100, timeoutMs: 200, fall: 2 }, [
      partial,
      { ...run(null, 0), error: 'the lab did not come up' },
    ]);
    expect(p.detectMedianMs).toBe(250);
    expect(p.falseFailoverRate).toBe(1);
    const report: SweepReport = {
      startedAt: '2026-11-26T12:00:00.000Z',
      endedAt: '2026-11-26T12:10:00.000Z',
      stall: 's',
      noFault: 'n',
      runsPerPoint: 2,
      points: markFrontier([p]),
    };
    expect(problemsOf(SweepReportSchema, report)).toEqual([]);
    const md = renderSweepMarkdown(report);
    expect(md).toContain('| 2 (2 did not finish, 1 of them after the stall) |');
    expect(md).toContain(
      '- 100/200/2 run 1 did not finish (its stall episode did, and counts): after its report',
    );
  });
});
