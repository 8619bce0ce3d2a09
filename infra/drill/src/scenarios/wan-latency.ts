// wan-latency: 300 ms on the router → primary region link for 20 s, under load. A slow link is not a
// dead region: nothing may fail over, nothing may fail, and the latency must show in p99.
import { describeFault } from '@failover-lab/contracts';
import { healAndSettle, healOf, p99Within, primaryRegion, sleep, suspicions } from './links';
import type { Scenario } from './scenario';

export const WAN_LATENCY_MS = 300;
export const WAN_LATENCY_HOLD_MS = 20_000;

export const wanLatency: Scenario = {
  name: 'wan-latency',
  summary: `add ${WAN_LATENCY_MS} ms on the edge → primary region link (router → cells) for ${WAN_LATENCY_HOLD_MS / 1000} s`,
  expected:
    'pass — no failover and no failed request (a probe answered in 300 ms is still within its 500 ms ' +
    'timeout); the services in the slowed region show the latency in their p99',
  plan: async (ctx) => {
    const { primary } = await primaryRegion(ctx);
    return {
      fault: {
        kind: 'link_latency',
        target: { from: 'edge', region: primary },
        direction: 'to',
        attributes: { latency_ms: WAN_LATENCY_MS },
      },
      expectation: { failsOver: [], unaffected: ['login', 'payments', 'messaging'] },
    };
  },
  inject: (ctx, plan) => ctx.backend.faults.apply(plan.fault),
  whileLoaded: async (ctx, plan, window) => {
    await sleep(Math.min(window.faultMs + WAN_LATENCY_HOLD_MS, window.loadEndsAtMs - 1_000) - Date.now());
    ctx.log(
      `healing after ${Math.round((Date.now() - window.faultMs) / 1000)} s: ${describeFault(plan.fault)}`,
    );
    await ctx.backend.faults.apply(healOf(plan.fault));
  },
  verify: async (ctx, plan, input) => {
    const slowed = (await primaryRegion(ctx)).there;
    const endMs = input.faultMs + WAN_LATENCY_HOLD_MS;
    const before = p99Within(input.records, slowed, input.faultMs - 5_000, input.faultMs);
    const during = p99Within(input.records, slowed, input.faultMs + 1_000, endMs);
    const suspected = suspicions(input.events, input.faultMs, endMs + 2_000);
    return [
      {
        name: `the ${WAN_LATENCY_MS} ms show in p99 of ${slowed.join(', ')}`,
        ok: during !== null && during >= WAN_LATENCY_MS,
        detail: `p99 ${before === null ? '-' : Math.round(before)} ms before, ${during === null ? '-' : Math.round(during)} ms during`,
      },
      {
        name: 'margin: cells suspected by the router while the link was slow',
        // information, not a verdict: a suspicion is not a failover (fall=3 consecutive failures is)
        ok: true,
        detail: `${suspected} suspected event(s) on ${plan.fault.target.region}`,
      },
    ];
  },
  reset: (ctx, plan) => healAndSettle(ctx, plan.fault),
};
