// region-freeze: SIGSTOP the primary region (a hang that keeps connections open, like a partition),
// let the router fail over, then thaw it: the old region must not accept a single write any more.
import {
  composeLeaseWaitTolerated,
  failOverThenUndo,
  firstEventAfter,
  oldPrimaryChecks,
  regionPlan,
  restoreAndSettle,
  servedByNewRegion,
} from './common';
import type { Check, Scenario } from './scenario';

/** How long the old region stays thawed under load before the checks (its chance to misbehave). */
const THAWED_UNDER_LOAD_MS = 3_000;

export const regionFreeze: Scenario = {
  name: 'region-freeze',
  summary: 'freeze the primary region (SIGSTOP, docker pause), fail over, then thaw it',
  expected:
    "pass — the frozen region's services fail over; after the thaw the old primaries are fenced: no write is " +
    'accepted there after the promotion (checked in their Postgres and /admin/state), nothing acked is lost in payments',
  plan: async (ctx) => composeLeaseWaitTolerated(ctx, await regionPlan(ctx, 'region_freeze')),
  inject: (ctx, plan) => ctx.backend.faults.apply(plan.fault),
  whileLoaded: (ctx, plan, window) =>
    failOverThenUndo(ctx, plan, window, {
      undoUnderLoadMs: THAWED_UNDER_LOAD_MS,
      affected: 'frozen',
      undoing: 'thawing',
      undo: () => ctx.backend.faults.reset(plan.fault),
    }),
  verify: async (ctx, plan, input) => {
    const old = plan.fault.target.region;
    const checks: Check[] = [...servedByNewRegion(plan, input)];
    for (const service of plan.expectation.failsOver) {
      const promoted = firstEventAfter(input.events, 'promoted', service, input.faultMs);
      if (!promoted) continue; // servedByNewRegion already failed it
      checks.push(...(await oldPrimaryChecks(ctx, service, old, new Date(promoted.at), 'thaw')));
    }
    return checks;
  },
  reset: (ctx, plan) => restoreAndSettle(ctx, plan.fault.target.region),
};
