// latency-spikes: no real fault, only weather — the edge → primary region link slowed by 400 ms
// (± 100 ms) in bursts of 2 s, every 4 s for 12 s. Nothing is lost, so nothing may fail over: a
// failover here is a false one, the price of a detector tuned too fast (the detection sweep counts
// them, with CPU stress on top).
import { evacuateAndRestore, primaries } from './common';
import { healAndSettle, healOf, primaryRegion, promotions, sleep, suspicions } from './links';
import type { Scenario } from './scenario';

export const SPIKE_LATENCY_MS = 400;
export const SPIKE_JITTER_MS = 100;
export const SPIKE_ON_MS = 2_000;
export const SPIKE_EVERY_MS = 4_000;
export const SPIKES_FOR_MS = 12_000;

export const latencySpikes: Scenario = {
  name: 'latency-spikes',
  summary: `no fault: ${SPIKE_LATENCY_MS} ± ${SPIKE_JITTER_MS} ms on the edge → primary region link for ${SPIKE_ON_MS / 1000} s every ${SPIKE_EVERY_MS / 1000} s, for ${SPIKES_FOR_MS / 1000} s`,
  expected:
    'pass — nothing fails over (a failover here is a false one: nothing was lost); requests may be slow, ' +
    'nothing acked is lost',
  plan: async (ctx) => {
    const { primary } = await primaryRegion(ctx);
    return {
      fault: {
        kind: 'link_latency',
        target: { from: 'edge', region: primary },
        direction: 'to',
        attributes: { latency_ms: SPIKE_LATENCY_MS, jitter_ms: SPIKE_JITTER_MS },
      },
      // slow is not broken, but the spikes may time requests out: only failovers are judged
      expectation: { failsOver: [], unaffected: [] },
    };
  },
  inject: (ctx, plan) => ctx.backend.faults.apply(plan.fault),
  whileLoaded: async (ctx, plan, window) => {
    const until = Math.min(window.faultMs + SPIKES_FOR_MS, window.loadEndsAtMs - 2_000);
    let spikes = 1;
    for (let start = window.faultMs; ; ) {
      await sleep(start + SPIKE_ON_MS - Date.now());
      await ctx.backend.faults.apply(healOf(plan.fault));
      start += SPIKE_EVERY_MS;
      if (start >= until) break;
      await sleep(start - Date.now());
      await ctx.backend.faults.apply(plan.fault);
      spikes++;
    }
    ctx.log(`${spikes} latency spike(s); link healed`);
  },
  verify: async (_ctx, plan, input) => [
    {
      name: 'margin: cells suspected by the router during the spikes',
      // information, not a verdict: a suspicion is not a failover; the verdict judges failovers
      ok: true,
      detail: `${suspicions(input.events, input.faultMs, input.faultMs + SPIKES_FOR_MS + 2_000)} suspected event(s) on ${plan.fault.target.region}; promotions: ${JSON.stringify(promotions(input.events, input.faultMs))}`,
    },
  ],
  reset: async (ctx, plan) => {
    const region = plan.fault.target.region;
    await ctx.backend.faults.apply(healOf(plan.fault));
    if (Object.values(await primaries(ctx)).every((r) => r === region)) {
      await healAndSettle(ctx, plan.fault);
      return;
    }
    // a false failover happened: bring the fenced old primaries back as standbys (never two primaries)
    await evacuateAndRestore(ctx, region);
  },
};
