// asymmetric: the replication link cut one way at a time. First the standby → primary way (the
// standby's acknowledgements are lost while the primary's WAL still arrives), then the reverse. The
// primary is healthy throughout: no failover; payments (and login, whose revocations commit
// synchronously) degrade or refuse within the bound; nothing acknowledged is lost.
import type { Fault } from '@failover-lab/contracts';
import { answeredWithin, healAndSettle, healOf, primaryRegion, sleep } from './links';
import { PAYMENTS_ANSWER_BOUND_MS } from './replication-partition';
import type { Scenario } from './scenario';

export const ASYMMETRIC_PHASE_MS = 8_000;

export const asymmetric: Scenario = {
  name: 'asymmetric',
  summary: `replication link one way at a time: standby → primary dropped for ${ASYMMETRIC_PHASE_MS / 1000} s, then primary → standby`,
  expected:
    'pass — no failover (the primary is healthy); messaging unaffected; payments and login answer ' +
    `every request within ${PAYMENTS_ANSWER_BOUND_MS} ms (degraded or refused); nothing acked is lost`,
  plan: async (ctx) => {
    const { primary, standby } = await primaryRegion(ctx);
    return {
      // standby → primary dropped: the primary's WAL still reaches the standby, its replies do not
      fault: { kind: 'link_partition', target: { from: standby, region: primary }, direction: 'to' },
      // login's revocations wait for the standby like payments' writes (replication-partition.ts)
      expectation: { failsOver: [], unaffected: ['messaging'] },
    };
  },
  inject: (ctx, plan) => ctx.backend.faults.apply(plan.fault),
  whileLoaded: async (ctx, plan, window) => {
    const phaseEnd = (n: number) =>
      Math.min(window.faultMs + n * ASYMMETRIC_PHASE_MS, window.loadEndsAtMs - 2_000);
    await sleep(phaseEnd(1) - Date.now());
    const reverse: Fault = { ...plan.fault, direction: 'from' };
    ctx.log('reversing: primary → standby dropped, standby → primary flows');
    await ctx.backend.faults.apply(healOf(plan.fault));
    await ctx.backend.faults.apply(reverse);
    await sleep(phaseEnd(2) - Date.now());
    ctx.log('healing the replication link');
    await ctx.backend.faults.apply(healOf(plan.fault));
  },
  verify: async (_ctx, _plan, input) => [
    answeredWithin(input.records, 'payments', input.faultMs, PAYMENTS_ANSWER_BOUND_MS),
    answeredWithin(input.records, 'login', input.faultMs, PAYMENTS_ANSWER_BOUND_MS),
  ],
  reset: (ctx, plan) => healAndSettle(ctx, plan.fault),
};
