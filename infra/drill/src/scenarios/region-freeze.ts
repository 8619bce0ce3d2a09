// region-freeze: SIGSTOP the primary region (a hang that keeps connections open, like a partition),
// let the router fail over, then thaw it: the old region must not accept a single write any more.
import { otherRegion } from '@failover-lab/contracts';
import { firstEventAfter, regionPlan, restoreAndSettle, servedByNewRegion, waitForEvents } from './common';
import type { Check, Scenario } from './scenario';

/** How long the old region stays thawed under load before the checks (its chance to misbehave). */
const THAWED_UNDER_LOAD_MS = 3_000;

export const regionFreeze: Scenario = {
  name: 'region-freeze',
  summary: 'freeze the primary region (SIGSTOP, docker pause), fail over, then thaw it',
  expected:
    "pass — the frozen region's services fail over; after the thaw the old primaries are fenced: no write is " +
    'accepted there after the promotion (checked in their Postgres and /admin/state), nothing acked is lost in payments',
  plan: (ctx) => regionPlan(ctx, 'region_freeze'),
  inject: (ctx, plan) => ctx.backend.faults.apply(plan.fault),
  whileLoaded: async (ctx, plan, window) => {
    const latestThaw = window.loadEndsAtMs - THAWED_UNDER_LOAD_MS;
    const promoted = await waitForEvents(
      ctx,
      'routed',
      plan.expectation.failsOver,
      window.faultMs,
      latestThaw,
    );
    ctx.log(
      promoted
        ? 'every frozen service failed over; thawing'
        : 'not every service failed over; thawing anyway',
    );
    await ctx.backend.faults.reset(plan.fault);
  },
  verify: async (ctx, plan, input) => {
    const old = plan.fault.target.region;
    const checks: Check[] = [...servedByNewRegion(plan, input)];
    for (const service of plan.expectation.failsOver) {
      const promoted = firstEventAfter(input.events, 'promoted', service, input.faultMs);
      if (!promoted) continue; // servedByNewRegion already failed it
      const promotedAt = new Date(promoted.at);
      const state = await ctx.admin.cellState(service, old);
      checks.push({
        name: `${service} old primary ${old} fenced after thaw`,
        ok: state === null || state.fenced || state.role !== 'primary',
        detail: state ? `role ${state.role}, fenced ${state.fenced}, epoch ${state.epoch}` : 'not answering',
      });
      const written = await ctx.backend.cells
        .countCellWrites(service, old, promotedAt)
        .catch((err: Error) => err);
      checks.push({
        name: `split-brain: ${service} writes in ${old} after promotion`,
        ok: written === 0,
        detail:
          written instanceof Error
            ? `could not read ${old} Postgres: ${written.message}`
            : `${written} row(s) written in ${old} at or after ${promoted.at} (promoted ${otherRegion(old)})`,
      });
    }
    return checks;
  },
  reset: (ctx, plan) => restoreAndSettle(ctx, plan.fault.target.region),
};
