// standby-loss: kill payments' standby Postgres (component_kill). A synchronous commit would wait for it forever, so the
// controller degrades payments to async (event + metric: RPO guarantee suspended) and it keeps serving.
import { otherRegion, SERVICES } from '@failover-lab/contracts';
import { firstEventAfter, primaries, restoreAndSettle } from './common';
import type { Scenario } from './scenario';

export const standbyLoss: Scenario = {
  name: 'standby-loss',
  summary: "kill payments' standby Postgres (the synchronous standby)",
  expected:
    'pass — no failover; payments keeps serving after a degraded_async event (writes stall at most until then); ' +
    'login and messaging are unaffected; restoring the standby brings sync back',
  plan: async (ctx) => {
    const standby = otherRegion((await primaries(ctx)).payments);
    return {
      fault: {
        kind: 'component_kill',
        target: { region: standby, service: 'payments', component: 'postgres' },
      },
      expectation: { failsOver: [], unaffected: SERVICES.filter((s) => s !== 'payments') },
    };
  },
  inject: (ctx, plan) => ctx.backend.faults.apply(plan.fault),
  verify: async (_ctx, _plan, input) => {
    const degraded = firstEventAfter(input.events, 'degraded_async', 'payments', input.faultMs);
    return [
      {
        name: 'payments degraded to async',
        ok: degraded !== undefined,
        detail: degraded
          ? `degraded_async ${Date.parse(degraded.at) - input.faultMs} ms after the fault`
          : 'no degraded_async event',
      },
    ];
  },
  reset: (ctx, plan) => restoreAndSettle(ctx, plan.fault.target.region),
};
