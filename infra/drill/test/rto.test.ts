import type { ControllerEvent } from '@failover-lab/contracts';
import { describe, expect, it } from 'vitest';
import { describeSteps, phasesFor } from '../src/phases';
import { rtoFromCounters } from '../src/prometheus';
import { measureRecovery } from '../src/rto';
import { timeline } from '../src/timeline';
import { record, steadyWithOutage } from './fixtures';

describe('measureRecovery', () => {
  it('RTO runs from the fault to the first request of the all-good tail', () => {
    const records = steadyWithOutage({
      fromMs: 0,
      toMs: 10_000,
      everyMs: 100,
      downFrom: 4_000,
      downTo: 6_500,
    });
    const r = measureRecovery(records, 3_950, 10_000);
    expect(r.rtoMs).toBe(6_500 - 3_950);
    expect(r.recoveredAtMs).toBe(6_500);
    expect(r.failed).toBe(25);
    expect(r.requests).toBe(100);
  });

  it('is 0 when nothing failed after the fault, null when the last request failed', () => {
    const healthy = steadyWithOutage({ fromMs: 0, toMs: 5_000, everyMs: 100, downFrom: 9e9, downTo: 9e9 });
    expect(measureRecovery(healthy, 2_000, 5_000).rtoMs).toBe(0);
    const dead = steadyWithOutage({ fromMs: 0, toMs: 5_000, everyMs: 100, downFrom: 2_000, downTo: 9e9 });
    const r = measureRecovery(dead, 2_000, 5_000);
    expect(r.rtoMs).toBeNull();
    expect(r.maxStallMs).toBeGreaterThanOrEqual(3_000);
  });

  it('ignores failures of requests started before the fault but counts them as failed', () => {
    const records = [
      record({ startMs: 900, endMs: 1_300, status: 0, ok: false, error: 'ECONNRESET' }),
      record({ startMs: 1_100 }),
      record({ startMs: 1_200 }),
    ];
    const r = measureRecovery(records, 1_000, 1_300);
    expect(r.rtoMs).toBe(0);
    expect(r.failed).toBe(1);
  });

  it('a late single failure moves the RTO after it (every request after recovery must succeed)', () => {
    const records = steadyWithOutage({
      fromMs: 0,
      toMs: 10_000,
      everyMs: 100,
      downFrom: 4_000,
      downTo: 5_000,
    });
    const blip = records.find((r) => r.startMs === 7_000)!;
    Object.assign(blip, { ok: false, status: 504 });
    expect(measureRecovery(records, 4_000, 10_000).rtoMs).toBe(3_100);
  });

  it('max stall is the longest gap between successful responses after the fault', () => {
    const records = [
      record({ startMs: 1_000, endMs: 1_010 }),
      record({ startMs: 1_100, endMs: 1_110 }),
      record({ startMs: 1_200, endMs: 3_900, status: 200, ok: true }), // held by the router for 2.7 s
      record({ startMs: 1_300, endMs: 1_700, status: 503, ok: false }),
      record({ startMs: 3_950, endMs: 3_960 }),
    ];
    const r = measureRecovery(records, 1_050, 4_000);
    expect(r.maxStallMs).toBe(3_900 - 1_110);
  });
});

describe('phasesFor', () => {
  const at = (ms: number) => new Date(ms).toISOString();
  const fault = Date.parse('2026-11-22T00:00:00.000Z');
  const events: ControllerEvent[] = [
    { at: at(fault - 5_000), type: 'confirmed_down', service: 'payments', region: 'dc-a', epoch: 1 }, // stale
    { at: at(fault + 400), type: 'suspected', service: 'payments', region: 'dc-a', epoch: 1 },
    { at: at(fault + 900), type: 'confirmed_down', service: 'payments', region: 'dc-a', epoch: 1 },
    { at: at(fault + 910), type: 'promote_started', service: 'payments', region: 'dc-b', epoch: 2 },
    { at: at(fault + 1_150), type: 'promoted', service: 'payments', region: 'dc-b', epoch: 2 },
    { at: at(fault + 1_160), type: 'routed', service: 'payments', region: 'dc-b', epoch: 2 },
    { at: at(fault + 800), type: 'confirmed_down', service: 'login', region: 'dc-a', epoch: 1 },
  ];

  it('splits detect, decide, promote and route', () => {
    expect(phasesFor(events, 'payments', fault)).toEqual({
      detectMs: 900,
      decideMs: 10,
      promoteMs: 240,
      routeMs: 10,
    });
  });

  it('null phases where a step never happened, null without a promotion', () => {
    expect(phasesFor(events, 'login', fault)).toBeNull();
    const unrouted = events.filter((e) => e.type !== 'routed');
    expect(phasesFor(unrouted, 'payments', fault)).toEqual({
      detectMs: 900,
      decideMs: 10,
      promoteMs: 240,
      routeMs: null,
    });
    expect(phasesFor(events, 'messaging', fault)).toBeNull();
  });

  it("carries the promotion's steps from the routed event, else from the promoted one", () => {
    const promotedSteps = { probeMs: 150, decideMs: 2, epochMs: 3, adminMs: 90, pgPromoteMs: 60, redisMs: 1 };
    const withSteps = events.map((e) =>
      e.service !== 'payments'
        ? e
        : e.type === 'promoted'
          ? { ...e, steps: promotedSteps }
          : e.type === 'routed'
            ? { ...e, steps: { ...promotedSteps, routeMs: 10 } }
            : e,
    );
    expect(phasesFor(withSteps, 'payments', fault)?.steps).toEqual({ ...promotedSteps, routeMs: 10 });
    const unrouted = withSteps.filter((e) => e.type !== 'routed');
    expect(phasesFor(unrouted, 'payments', fault)?.steps).toEqual(promotedSteps);
    expect(describeSteps({ ...promotedSteps, routeMs: 10 })).toBe(
      'probe 150 ms · decide 2 ms · epoch write 3 ms · pg_promote 60 ms · Redis 1 ms · promote call 90 ms · route 10 ms',
    );
  });
});

describe('timeline', () => {
  it('buckets success rate and p99 by start time, keeping empty buckets', () => {
    const records = [
      record({ startMs: 1_000, endMs: 1_010 }),
      record({ startMs: 1_100, endMs: 1_300, ok: false, status: 503 }),
      record({ startMs: 1_600, endMs: 1_620 }),
    ];
    const buckets = timeline(records, 1_000, 2_000, 250);
    expect(buckets.map((b) => b.requests)).toEqual([2, 0, 1, 0]);
    expect(buckets[0]!.successRate).toBe(0.5);
    expect(buckets[0]!.p99Ms).toBe(200);
    expect(buckets[1]!.successRate).toBeNull();
  });
});

describe('rtoFromCounters (Prometheus cross-check)', () => {
  const s = (outcome: string, values: [number, number][]) => ({ service: 'payments', outcome, values });
  const t0 = 1_000; // unix seconds
  it('RTO = end of the last step whose non-ok counters increased, after the fault', () => {
    const series = [
      s('ok', [
        [t0, 10],
        [t0 + 1, 20],
        [t0 + 2, 22],
        [t0 + 3, 22],
        [t0 + 4, 30],
        [t0 + 5, 40],
      ]),
      // no_primary appears mid-run: its first sample counts from 0
      s('no_primary', [
        [t0 + 2, 3],
        [t0 + 3, 8],
        [t0 + 4, 8],
        [t0 + 5, 8],
      ]),
    ];
    expect(rtoFromCounters(series, 'payments', (t0 + 1.5) * 1000, 1000, (t0 + 6) * 1000)).toBe(1_500);
    expect(rtoFromCounters(series, 'login', (t0 + 1.5) * 1000, 1000, (t0 + 6) * 1000)).toBe(0);
  });
  it('null when the service still fails at the end', () => {
    const series = [
      s('timeout', [
        [t0, 0],
        [t0 + 1, 5],
        [t0 + 2, 9],
      ]),
    ];
    expect(rtoFromCounters(series, 'payments', t0 * 1000, 1000, (t0 + 2.5) * 1000)).toBeNull();
  });
});
