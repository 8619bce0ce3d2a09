// The comparison drill's own judgement (which arm met its expectation) and its words, over fixed arms.
import { describe, expect, it } from 'vitest';
import {
  type ArmResult,
  armReasons,
  type ComparisonReport,
  renderComparison,
  tradeOff,
} from '../src/compare/active-active';

function arm(topology: ArmResult['topology'], messaging: Partial<ArmResult['messaging']> = {}): ArmResult {
  return {
    topology,
    expected: 'x',
    verdict: 'pass',
    reasons: [],
    reportDir: `drill-out/x/${topology}`,
    drillVerdict: 'pass',
    killed: 'dc-a',
    loadAverage: { start: 3.1, end: 4.2 },
    messaging: {
      requests: 400,
      failed: topology === 'active-passive' ? 12 : 3,
      rtoMs: topology === 'active-passive' ? 2400 : 700,
      maxStallMs: topology === 'active-passive' ? 2100 : 650,
      promoted: topology === 'active-passive',
      ackedWrites: 90,
      lostWhileDown: 1,
      missingAfterRejoin: topology === 'active-passive' ? 1 : 0,
      quarantinedRows: topology === 'active-passive' ? 1 : 0,
      writeP50Ms: 9,
      writeP99Ms: 80,
      lag: { samples: 40, p50Ms: 3, maxMs: 40, maxBytes: 9000 },
      conflicts:
        topology === 'active-active'
          ? { merged: 2, sameContent: 2, visibleDuplicates: 0, markersBoth: 3 }
          : null,
      order: topology === 'active-active' ? { rooms: 24, identical: 24 } : null,
      ...messaging,
    },
    others: { payments: { rtoMs: 2000, maxStallMs: 1900, failed: 4 } },
  };
}

describe('drill active-active: every arm against its own expectation', () => {
  it('active-passive must fail over by a promotion', () => {
    expect(armReasons(arm('active-passive'), [])).toEqual([]);
    expect(armReasons(arm('active-passive', { promoted: false }), [])).toEqual([
      'messaging was not failed over by a promotion',
    ]);
  });

  it('active-active must promote nothing, lose nothing once rejoined, merge duplicates, agree on order', () => {
    expect(armReasons(arm('active-active'), [])).toEqual([]);
    const bad = arm('active-active', {
      promoted: true,
      missingAfterRejoin: 2,
      conflicts: { merged: 1, sameContent: 1, visibleDuplicates: 1, markersBoth: 0 },
      order: { rooms: 24, identical: 23 },
    });
    expect(armReasons(bad, ['messaging never recovered'])).toEqual([
      'region-kill drill: messaging never recovered',
      'messaging promoted something although it is active-active',
      '2 acknowledged message(s) still missing after the lost region rejoined',
      '1 client id(s) still stored twice after the merge',
      '1 room(s) read in a different order in the two regions',
    ]);
  });

  it('explains the trade-off with the run’s own numbers', () => {
    const text = tradeOff([arm('active-passive'), arm('active-active')]);
    expect(text).toContain('RTO 2400 ms');
    expect(text).toContain('RTO 700 ms');
    expect(text).toContain('2 client id(s) written in both regions');
    expect(text.split('. ').length).toBeGreaterThanOrEqual(2);
  });

  it('prints both arms side by side', () => {
    const report: ComparisonReport = {
      scenario: 'active-active',
      verdict: 'pass',
      startedAt: '2026-01-01T00:00:00.000Z',
      endedAt: '2026-01-01T00:05:00.000Z',
      load: { ratePerSec: 40, warmupMs: 6000, durationMs: 24000, seed: 1 },
      arms: [arm('active-passive'), arm('active-active')],
      tradeOff: 'because',
    };
    const md = renderComparison(report);
    expect(md).toContain('| messaging RTO | 2400 ms | 700 ms |');
    expect(md).toContain('| messaging promoted | yes | no |');
    expect(md).toContain('| load average (1 min) at start → end of load | 3.1 → 4.2 | 3.1 → 4.2 |');
    expect(md).toContain('| conflicts merged (same content) | n/a | 2 (2) |');
  });
});
