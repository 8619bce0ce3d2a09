// region-kill: SIGKILL every process of the region holding the primaries — the fire.
import { regionPlan, restoreAndSettle, servedByNewRegion } from './common';
import type { Scenario } from './scenario';

export const regionKill: Scenario = {
  name: 'region-kill',
  summary: 'kill every process of the primary region (SIGKILL, docker kill)',
  expected:
    'pass — every service whose primary was there fails over to the other region and recovers; payments loses ' +
    'and duplicates nothing (synchronous replication); async services may lose only writes acked in the last instant',
  plan: (ctx) => regionPlan(ctx, 'region_kill'),
  inject: (ctx, plan) => ctx.backend.faults.apply(plan.fault),
  verify: async (_ctx, plan, input) => servedByNewRegion(plan, input),
  reset: (ctx, plan) => restoreAndSettle(ctx, plan.fault.target.region),
};
