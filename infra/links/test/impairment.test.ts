import type { Fault } from '@failover-lab/contracts';
import { describe, expect, it } from 'vitest';
import { impairmentOf, type Leg, withFault } from '../src/impairment';

const bToA: Leg = { src: 'dc-b', dst: 'dc-a', service: 'payments' };
const aToB: Leg = { src: 'dc-a', dst: 'dc-b', service: 'payments' };
const edgeToA: Leg = { src: 'edge', dst: 'dc-a', service: 'payments' };

const cut = (from: 'dc-a' | 'dc-b', region: 'dc-a' | 'dc-b', direction?: Fault['direction']): Fault => ({
  kind: 'link_partition',
  target: { from, region },
  ...(direction ? { direction } : {}),
});

describe('impairmentOf', () => {
  it.each([
    ['both ways', cut('dc-a', 'dc-b'), { bToA: true, aToB: true }],
    ['dc-b → dc-a only (to)', cut('dc-b', 'dc-a', 'to'), { bToA: true, aToB: false }],
    [
      'dc-b → dc-a only, named from the other end (from)',
      cut('dc-a', 'dc-b', 'from'),
      { bToA: true, aToB: false },
    ],
    ['dc-a → dc-b only', cut('dc-a', 'dc-b', 'to'), { bToA: false, aToB: true }],
  ])('%s', (_name, fault, expected) => {
    expect(impairmentOf([fault], bToA)?.blackhole ?? false).toBe(expected.bToA);
    expect(impairmentOf([fault], aToB)?.blackhole ?? false).toBe(expected.aToB);
    expect(impairmentOf([fault], edgeToA)).toBeNull();
  });

  it('adds latencies, keeps the tightest cap and the largest loss', () => {
    const target = { from: 'edge', region: 'dc-a' } as const;
    const faults: Fault[] = [
      { kind: 'link_latency', target, attributes: { latency_ms: 100, jitter_ms: 10 } },
      { kind: 'link_latency', target: { ...target, service: 'payments' }, attributes: { latency_ms: 50 } },
      { kind: 'link_bandwidth', target, attributes: { rate_kbps: 512 } },
      { kind: 'link_loss', target, attributes: { loss_pct: 5 } },
    ];
    expect(impairmentOf(faults, edgeToA)).toEqual({
      latencyMs: 150,
      jitterMs: 10,
      rateKbps: 512,
      loss: 0.05,
      blackhole: false,
    });
    expect(impairmentOf(faults, { ...edgeToA, service: 'login' })?.latencyMs).toBe(100);
  });
});

describe('withFault', () => {
  const target = { from: 'edge', region: 'dc-a' } as const;
  it('replaces a fault of the same kind, link and direction; heal clears the link', () => {
    let active = withFault([], { kind: 'link_latency', target, attributes: { latency_ms: 100 } });
    active = withFault(active, { kind: 'link_latency', target, attributes: { latency_ms: 300 } });
    active = withFault(active, cut('dc-a', 'dc-b'));
    expect(active.map((f) => f.attributes?.latency_ms ?? f.kind)).toEqual([300, 'link_partition']);
    active = withFault(active, {
      kind: 'link_heal',
      target: { from: 'dc-a', region: 'edge' as never } as never,
    });
    expect(active).toEqual([cut('dc-a', 'dc-b')]);
    expect(withFault(active, { kind: 'link_reset', target })).toEqual(active);
  });
});
