// flapping: the edge → primary region link goes down and up every 700 ms for 15 s. Each outage is
// shorter than the router's confirmation (fall × probe timeout), so the defaults ride it out; a
// detector tuned faster may fail over once, but never back and forth.
import { evacuateAndRestore, primaries } from './common';
import { healAndSettle, healOf, primaryRegion, promotions, sleep, suspicions } from './links';
import type { Check, Scenario } from './scenario';

export const FLAP_PERIOD_MS = 700;
export const FLAP_FOR_MS = 15_000;

export const flapping: Scenario = {
  name: 'flapping',
  summary: `the edge → primary region link down and up every ${FLAP_PERIOD_MS} ms for ${FLAP_FOR_MS / 1000} s`,
  expected:
    'pass — at most one failover per service and no ping-pong (with the default detection: none); ' +
    'the services elsewhere are unaffected; nothing acked is lost',
  plan: async (ctx) => {
    const { primary, there, elsewhere } = await primaryRegion(ctx);
    return {
      fault: { kind: 'link_partition', target: { from: 'edge', region: primary }, direction: 'both' },
      expectation: { failsOver: [], mayFailOver: there, unaffected: elsewhere },
    };
  },
  inject: (ctx, plan) => ctx.backend.faults.apply(plan.fault),
  whileLoaded: async (ctx, plan, window) => {
    const until = Math.min(window.faultMs + FLAP_FOR_MS, window.loadEndsAtMs - 2_000);
    let down = true;
    let flips = 0;
    let next = window.faultMs + FLAP_PERIOD_MS;
    while (next < until) {
      await sleep(next - Date.now());
      await ctx.backend.faults.apply(down ? healOf(plan.fault) : plan.fault);
      down = !down;
      flips++;
      next += FLAP_PERIOD_MS;
    }
    if (down) await ctx.backend.faults.apply(healOf(plan.fault));
    ctx.log(`flapped ${flips} time(s); link healed`);
  },
  verify: async (_ctx, plan, input) => {
    const promoted = promotions(input.events, input.faultMs);
    const checks: Check[] = Object.entries(promoted).map(([service, count]) => ({
      name: `${service}: at most one failover (no ping-pong)`,
      ok: count <= 1,
      detail: `${count} promotion(s) after the fault`,
    }));
    checks.push({
      name: 'margin: cells suspected by the router while the link flapped',
      ok: true,
      detail: `${suspicions(input.events, input.faultMs, input.faultMs + FLAP_FOR_MS + 2_000)} suspected event(s) on ${plan.fault.target.region}`,
    });
    return checks;
  },
  reset: async (ctx, plan) => {
    const region = plan.fault.target.region;
    const where = await primaries(ctx);
    await ctx.backend.faults.apply(healOf(plan.fault));
    if (Object.values(where).every((r) => r === region)) {
      await healAndSettle(ctx, plan.fault);
      return;
    }
    // Some service did fail over once (allowed): its old primary in `region` is fenced and must be
    // rebuilt as a standby, while other services may still be primary there. evacuateAndRestore
    // moves those out first, so the restore never leaves two primaries.
    await evacuateAndRestore(ctx, region);
  },
};
