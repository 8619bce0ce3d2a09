// The event stream's words: a failover's routed event says where its time went.
import { describe, expect, it } from 'vitest';
import { describeEvent } from '../web/src/words';

const routed = {
  at: '2026-11-26T09:00:00.000Z',
  type: 'routed',
  service: 'payments',
  region: 'dc-b',
  epoch: 2,
} as const;

describe('describeEvent', () => {
  it("a failover's routed event names its steps, an ordinary one does not", () => {
    expect(
      describeEvent({
        ...routed,
        steps: { probeMs: 41.2, decideMs: 1, epochMs: 3, pgPromoteMs: 58, redisMs: 2, routeMs: 9 },
      }),
    ).toBe(
      'payments: traffic goes to dc-b (epoch 2): noticed in 41 ms, decided in 1 ms, Postgres promoted in 58 ms, Redis promoted in 2 ms, routed in 9 ms',
    );
    expect(describeEvent(routed)).toBe('payments: traffic goes to dc-b (epoch 2)');
  });
});
