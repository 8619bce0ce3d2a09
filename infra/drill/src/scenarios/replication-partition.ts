// replication-partition (and replication-cut, the same fault under the safety issue's name): the
// replication link between the regions is blackholed both ways while both regions answer the router.
// Nothing may fail over (the primary is healthy); the async services keep serving; payments, which
// commits synchronously, and login, whose revocations do, must degrade or refuse within the bound
// instead of hanging; the heal brings the standbys back to streaming and both back to sync.
import { type ControllerEvent, describeFault } from '@failover-lab/contracts';
import { firstEventAfter } from './common';
import { answeredWithin, healAndSettle, healOf, primaryRegion, sleep } from './links';
import type { Check, Plan, Scenario, ScenarioContext } from './scenario';

export const REPLICATION_CUT_HOLD_MS = 12_000;
/** The drill client's own timeout: a payments request not answered by then hangs. */
export const PAYMENTS_ANSWER_BOUND_MS = 5_000;

async function plan(ctx: ScenarioContext): Promise<Plan> {
  const { primary, standby } = await primaryRegion(ctx);
  return {
    fault: { kind: 'link_partition', target: { from: primary, region: standby }, direction: 'both' },
    // login's revocations wait for the standby until the degrade, like payments' writes: under load one
    // can outlast the router's request timeout (a 504 with a code, not a hang), so only messaging is
    // expected to notice nothing
    expectation: { failsOver: [], unaffected: ['messaging'] },
  };
}

function replicationScenario(name: 'replication-partition' | 'replication-cut'): Scenario {
  /** when this run healed the link (set just before the heal; one drill runs at a time) */
  let healingAtMs: number | null = null;
  return {
    name,
    summary: `blackhole the replication link between the regions (both ways) for ${REPLICATION_CUT_HOLD_MS / 1000} s; both regions still answer the router`,
    expected:
      'pass — no failover; messaging unaffected; payments and login (its sign-outs and refresh ' +
      `rotations wait for the standby) answer every request within ${PAYMENTS_ANSWER_BOUND_MS} ms (degraded to ` +
      'async, or refused with a code); nothing acked is lost; the heal restores streaming and synchronous replication',
    plan,
    inject: (ctx, p) => ctx.backend.faults.apply(p.fault),
    whileLoaded: async (ctx, p, window) => {
      await sleep(
        Math.min(window.faultMs + REPLICATION_CUT_HOLD_MS, window.loadEndsAtMs - 2_000) - Date.now(),
      );
      ctx.log(`healing: ${describeFault(p.fault)}`);
      healingAtMs = Date.now();
      await ctx.backend.faults.apply(healOf(p.fault));
    },
    verify: async (_ctx, _p, input) => [
      answeredWithin(input.records, 'payments', input.faultMs, PAYMENTS_ANSWER_BOUND_MS),
      answeredWithin(input.records, 'login', input.faultMs, PAYMENTS_ANSWER_BOUND_MS),
      // login degrades only when a revocation was in flight during the cut, so only payments' degrade
      // (its every transfer waits for the standby) is required
      degradedWithinBound(input.events, input.faultMs),
      noSyncOnCutLink(input.events, input.faultMs, healingAtMs),
    ],
    reset: (ctx, p) => healAndSettle(ctx, p.fault),
  };
}

/**
 * The sync-stall detector (docs/fencing.md) noticed the cut: payments' commits stuck waiting for the
 * standby made the controller degrade it to async (the router's default; strict mode refuses writes
 * instead and the answer bound above is what proves it). Sync comes back after the heal (the reset
 * waits for it); when that happened before the load ended, the detail says when.
 */
function degradedWithinBound(events: ControllerEvent[], faultMs: number): Check {
  const degraded = firstEventAfter(events, 'degraded_async', 'payments', faultMs);
  const restored = degraded
    ? firstEventAfter(events, 'sync_restored', 'payments', Date.parse(degraded.at))
    : undefined;
  return {
    name: 'payments degraded to async (commits stuck for the standby)',
    ok: degraded !== undefined,
    detail: degraded
      ? `degraded ${Date.parse(degraded.at) - faultMs} ms after the cut (${degraded.detail ?? ''}); ` +
        (restored
          ? `sync restored ${Date.parse(restored.at) - faultMs} ms after the cut`
          : 'sync not restored')
      : 'no degraded_async event for payments: its commits hung on the cut link unnoticed',
  };
}

/**
 * Sync is not put back while the link is still cut: a walsender row can read "streaming" with a recent
 * reply and a small lag for a while after the cut, and sync restored on it hangs every commit again
 * until the next degrade (docs/fencing.md, "RPO 0 again").
 */
function noSyncOnCutLink(events: ControllerEvent[], faultMs: number, healingAtMs: number | null): Check {
  const until = healingAtMs ?? Number.POSITIVE_INFINITY;
  const during = events.filter(
    (e) => e.service === 'payments' && Date.parse(e.at) >= faultMs && Date.parse(e.at) < until,
  );
  const restored = during.filter((e) => e.type === 'sync_restored');
  const degrades = during.filter((e) => e.type === 'degraded_async').length;
  return {
    name: 'payments sync not restored while the link is cut',
    ok: restored.length === 0,
    detail:
      restored.length === 0
        ? `${degrades} degrade(s), no sync_restored before the heal`
        : `sync restored ${restored.map((e) => `${Date.parse(e.at) - faultMs} ms`).join(', ')} after the cut, ` +
          `before the heal (${degrades} degrades: commits hung again each time)`,
  };
}

export const replicationPartition = replicationScenario('replication-partition');
export const replicationCut = replicationScenario('replication-cut');
