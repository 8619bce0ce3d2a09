// edge-partition: the router cannot reach the primary region (edge link blackholed both ways) while
// that region is alive and still replicating to the other one. The router must fail over; the old
// primaries must not commit a single write after the promotion, and once the link heals they are
// fenced (checked in their Postgres, as region-freeze does). Nobody can tell them while the link is
// down: each fences itself when the lease the router's probes granted runs out, and the router waits
// that lease out before it promotes (docs/fencing.md, "The lease").
import { otherRegion } from '@failover-lab/contracts';
import { firstEventAfter, restoreAndSettle, servedByNewRegion, waitForEvents } from './common';
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
    return {
      fault: { kind: 'link_partition', target: { from: 'edge', region: primary }, direction: 'both' },
      expectation: { failsOver: there, unaffected: elsewhere },
    };
  },
  inject: (ctx, plan) => ctx.backend.faults.apply(plan.fault),
  whileLoaded: async (ctx, plan, window) => {
    const latestHeal = window.loadEndsAtMs - HEALED_UNDER_LOAD_MS;
    const routed = await waitForEvents(ctx, 'routed', plan.expectation.failsOver, window.faultMs, latestHeal);
    ctx.log(
      routed
        ? 'every cut service failed over; healing the link'
        : 'not every service failed over; healing anyway',
    );
    await ctx.backend.faults.apply(healOf(plan.fault));
  },
  verify: async (ctx, plan, input) => {
    const old = plan.fault.target.region;
    const checks: Check[] = [...servedByNewRegion(plan, input)];
    for (const service of plan.expectation.failsOver) {
      const promoted = firstEventAfter(input.events, 'promoted', service, input.faultMs);
      if (!promoted) continue; // servedByNewRegion already failed it
      const state = await ctx.admin.cellState(service, old);
      checks.push({
        name: `${service} old primary ${old} fenced after the heal`,
        ok: state === null || state.fenced || state.role !== 'primary',
        detail: state ? `role ${state.role}, fenced ${state.fenced}, epoch ${state.epoch}` : 'not answering',
      });
      // Nobody could tell it: when the router waited out a lease (leases on), the old primary fenced
      // itself when it ran out, before the other region was promoted.
      if (promoted.steps?.leaseMs !== undefined) {
        const selfFenced = state?.selfFencedAt ? Date.parse(state.selfFencedAt) : null;
        checks.push({
          name: `${service} old primary ${old} fenced itself (lease) before the promotion`,
          ok: selfFenced !== null && selfFenced <= Date.parse(promoted.at),
          detail:
            selfFenced === null
              ? 'no self-fence recorded: the old primary never noticed it was cut off'
              : `fenced itself ${Date.parse(promoted.at) - selfFenced} ms before ${otherRegion(old)} was promoted`,
        });
      }
      const written = await ctx.backend.cells
        .countCellWrites(service, old, new Date(promoted.at))
        .catch((err: Error) => err);
      checks.push({
        name: `split-brain: ${service} commits in ${old} after the promotion`,
        ok: written === 0,
        detail:
          written instanceof Error
            ? `could not read ${old} Postgres: ${written.message}`
            : `${written} row(s) committed in ${old} at or after ${promoted.at} (promoted ${otherRegion(old)})`,
      });
    }
    return checks;
  },
  reset: async (ctx, plan) => {
    await ctx.backend.faults.apply(healOf(plan.fault));
    await restoreAndSettle(ctx, plan.fault.target.region);
  },
};
