// db-kill: SIGKILL only payments' primary Postgres (component_kill). Each service fails over on its own: payments moves,
// login and messaging (same region, own databases) must not notice.
import { SERVICES } from '@failover-lab/contracts';
import { evacuateAndRestore, primaries, servedByNewRegion } from './common';
import type { Scenario } from './scenario';

export const dbKill: Scenario = {
  name: 'db-kill',
  summary: "kill payments' primary Postgres (postmaster and children) only",
  expected:
    'pass — payments fails over to its standby and loses nothing; login and messaging do not fail over and ' +
    'no request of theirs fails',
  plan: async (ctx) => {
    const region = (await primaries(ctx)).payments;
    return {
      fault: { kind: 'component_kill', target: { region, service: 'payments', component: 'postgres' } },
      expectation: { failsOver: ['payments'], unaffected: SERVICES.filter((s) => s !== 'payments') },
    };
  },
  inject: (ctx, plan) => ctx.backend.faults.apply(plan.fault),
  verify: async (_ctx, plan, input) => servedByNewRegion(plan, input),
  reset: (ctx, plan) => evacuateAndRestore(ctx, plan.fault.target.region),
};
