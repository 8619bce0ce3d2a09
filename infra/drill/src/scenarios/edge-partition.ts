// edge-partition: the router cannot reach the primary region (edge link blackholed both ways) while
// that region is alive and still replicating to the other one. The router must fail over; the old
// primaries must not commit a single write after the promotion, and once the link heals they are
// fenced (checked in their Postgres, as region-freeze does). Nobody can tell them while the link is
// down: each fences itself when the lease the router's probes and requests granted runs out, and the
// router promotes only once that lease is over (docs/fencing.md, "The lease").
import { otherRegion } from '@failover-lab/contracts';
import {
  composeLeaseWaitTolerated,
  failOverThenUndo,
  firstEventAfter,
  oldPrimaryChecks,
  restoreAndSettle,
  servedByNewRegion,
} from './common';
import { healOf, primaryRegion } from './links';
import type { Check, Scenario } from './scenario';

/** How long the old region is reachable again under load before the checks (its chance to misbehave). */
const HEALED_UNDER_LOAD_MS = 3_000;

export const edgePartition: Scenario = {
  name: 'edge-partition',
  summary: 'blackhole the edge ⇄ primary region link (the region lives on and still reaches the other)',
  expected:
    "pass — the cut region's services fail over; each old primary fences itself when its lease runs out, before " +
    'the promotion (leases on); no write commits in the old primaries after the promotion ' +
    '(read from their Postgres), and after the heal they are fenced; nothing acked is lost in payments',
  plan: async (ctx) => {
    const { primary, there, elsewhere } = await primaryRegion(ctx);
    return composeLeaseWaitTolerated(ctx, {
      fault: { kind: 'link_partition', target: { from: 'edge', region: primary }, direction: 'both' },
      expectation: { failsOver: there, unaffected: elsewhere },
    });
  },
  inject: (ctx, plan) => ctx.backend.faults.apply(plan.fault),
  whileLoaded: (ctx, plan, window) =>
    failOverThenUndo(ctx, plan, window, {
      undoUnderLoadMs: HEALED_UNDER_LOAD_MS,
      affected: 'cut',
      undoing: 'healing the link',
      undo: () => ctx.backend.faults.apply(healOf(plan.fault)),
    }),
  verify: async (ctx, plan, input) => {
    const old = plan.fault.target.region;
    const checks: Check[] = [...servedByNewRegion(plan, input)];
    for (const service of plan.expectation.failsOver) {
      const promoted = firstEventAfter(input.events, 'promoted', service, input.faultMs);
      if (!promoted) continue; // servedByNewRegion already failed it
      checks.push(
        ...(await oldPrimaryChecks(ctx, service, old, new Date(promoted.at), 'heal', (state) => {
          // Nobody could tell it: with leases on (the router waited one out, or the cell held one), the
          // old primary fenced itself when its lease ran out, before the other region was promoted —
          // whether or not that lease was still running when the router confirmed the cut (with grants
          // stopped on silence it may be over by then, and there is no wait).
          const leased =
            promoted.steps?.leaseMs !== undefined ||
            state?.selfFencedAt !== undefined ||
            state?.leaseUntil !== undefined;
          if (!leased) return [];
          const selfFenced = state?.selfFencedAt ? Date.parse(state.selfFencedAt) : null;
          return [
            {
              name: `${service} old primary ${old} fenced itself (lease) before the promotion`,
              ok: selfFenced !== null && selfFenced <= Date.parse(promoted.at),
              detail:
                selfFenced === null
                  ? 'no self-fence recorded: the old primary never noticed it was cut off'
                  : `fenced itself ${Date.parse(promoted.at) - selfFenced} ms before ${otherRegion(old)} was promoted`,
            },
          ];
        })),
      );
    }
    return checks;
  },
  reset: async (ctx, plan) => {
    await ctx.backend.faults.apply(healOf(plan.fault));
    await restoreAndSettle(ctx, plan.fault.target.region);
  },
};
