// Pieces several scenarios share: where the primaries are, waiting for events, reset by restore.
import {
  type ControllerEvent,
  type FaultKind,
  otherRegion,
  type RegionName,
  SERVICES,
  type ServiceName,
} from '@failover-lab/contracts';
import { routerServices, waitForSteadyState } from '../steady-state';
import type { AnyPlan, Check, Plan, ScenarioContext, VerifyInput } from './scenario';

export const RESET_TIMEOUT_MS = 90_000;

export async function primaries(ctx: ScenarioContext): Promise<Record<ServiceName, RegionName>> {
  const router = await routerServices(ctx.admin);
  return Object.fromEntries(SERVICES.map((s) => [s, router[s].primary])) as Record<ServiceName, RegionName>;
}

/**
 * A region loss: the region holding payments' primary; every service whose primary is there moves
 * (an active-active service moves its users there without a promotion).
 */
export async function regionPlan(ctx: ScenarioContext, kind: FaultKind): Promise<Plan> {
  const router = await routerServices(ctx.admin);
  const region = router.payments.primary;
  const activeActive = SERVICES.filter((s) => router[s].topology === 'active-active');
  const failsOver = SERVICES.filter((s) => router[s].primary === region && !activeActive.includes(s));
  return {
    fault: { kind, target: { region } },
    expectation: {
      failsOver,
      unaffected: SERVICES.filter((s) => !failsOver.includes(s) && !activeActive.includes(s)),
      ...(activeActive.length > 0 ? { movesWithoutPromotion: activeActive } : {}),
    },
  };
}

/**
 * Under docker compose the router runs the contract's lease (3 s, no passive suspicion) and a 1 s
 * probe timeout (infra/compose/router.json, docs/docker.md): detection + the lease outlast the drill
 * client's 5 s timeout, so retry-safe requests to the lost region can still fail there. The local lab's
 * settings (docs/fencing.md, "The lease") hold or resend every one of them, and its verdict is strict.
 */
export const COMPOSE_LEASE_WAIT_OUTLASTS_CLIENT =
  "under compose a failover from an unreachable primary waits out the contract's 3 s lease after a " +
  'detection of ~3 s: requests sent to it around the fault can outlast the client timeout';

/** The plan, with the services that fail over allowed to fail retry-safe requests under compose only. */
export function composeLeaseWaitTolerated(ctx: ScenarioContext, plan: Plan): Plan {
  if (ctx.backend.name !== 'compose') return plan;
  return {
    ...plan,
    expectation: {
      ...plan.expectation,
      retrySafeFailuresExpected: {
        ...Object.fromEntries(plan.expectation.failsOver.map((s) => [s, COMPOSE_LEASE_WAIT_OUTLASTS_CLIENT])),
        ...plan.expectation.retrySafeFailuresExpected,
      },
    },
  };
}

export async function restoreAndSettle(ctx: ScenarioContext, region: RegionName): Promise<void> {
  ctx.log(`reset: restoring ${region} as standby`);
  await ctx.backend.faults.apply({ kind: 'region_restore', target: { region } });
  await waitForSteadyState(ctx.admin, RESET_TIMEOUT_MS);
}

/**
 * Reset for a partial fault in a region that still holds primaries (db-kill): a restore brings a
 * cell back as standby only of a primary in the other region, and a region that still serves some
 * services would end up with two primaries for them. So every service is moved out first — the rest
 * of the region killed, and the router waited for until it routes all of them elsewhere — and then
 * the region is restored.
 */
export async function evacuateAndRestore(ctx: ScenarioContext, region: RegionName): Promise<void> {
  const where = await primaries(ctx);
  const stillThere = SERVICES.filter((s) => where[s] === region);
  if (stillThere.length > 0) {
    const since = Date.now();
    ctx.log(`reset: moving ${stillThere.join(', ')} out of ${region} before restoring it`);
    await ctx.backend.faults.apply({ kind: 'region_kill', target: { region } });
    if (!(await waitForEvents(ctx, 'routed', stillThere, since, Date.now() + RESET_TIMEOUT_MS))) {
      throw new Error(`reset: ${stillThere.join(', ')} did not move out of ${region}`);
    }
  }
  await restoreAndSettle(ctx, region);
}

export function firstEventAfter(
  events: ControllerEvent[],
  type: string,
  service: ServiceName,
  sinceMs: number,
): ControllerEvent | undefined {
  return events.find((e) => e.type === type && e.service === service && Date.parse(e.at) >= sinceMs);
}

/** Polls the router's events until every service has `type` after `sinceMs`, or the deadline passes. */
export async function waitForEvents(
  ctx: ScenarioContext,
  type: string,
  services: readonly ServiceName[],
  sinceMs: number,
  deadlineMs: number,
): Promise<boolean> {
  while (Date.now() < deadlineMs) {
    const events = await ctx.admin.events(new Date(sinceMs - 1)).catch(() => []);
    if (services.every((s) => firstEventAfter(events, type, s, sinceMs))) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

/** After recovery, the moved services are answered by the other region only. */
export function servedByNewRegion(plan: AnyPlan, input: VerifyInput): Check[] {
  const old = plan.fault.target.region;
  const moved = [...plan.expectation.failsOver, ...(plan.expectation.movesWithoutPromotion ?? [])];
  return moved.map((service) => {
    const promoted = firstEventAfter(input.events, 'routed', service, input.faultMs);
    if (!promoted)
      return { name: `${service} routed to ${otherRegion(old)}`, ok: false, detail: 'no routed event' };
    const routedMs = Date.parse(promoted.at);
    const late = input.records.filter(
      (r) => r.service === service && r.ok && r.startMs > routedMs + 1_000 && r.servedBy === old,
    ).length;
    return {
      name: `${service} served by ${otherRegion(old)} after routing`,
      ok: late === 0,
      detail:
        late === 0
          ? `no response from ${old} after ${promoted.at}`
          : `${late} response(s) from ${old} after routing`,
    };
  });
}

/** The wording of the old-primary checks: after a thaw (a freeze) or after the heal (a partition). */
const AFTER = {
  thaw: { fenced: 'fenced after thaw', rows: 'writes', promotion: 'promotion', done: 'written' },
  heal: { fenced: 'fenced after the heal', rows: 'commits', promotion: 'the promotion', done: 'committed' },
} as const;

/**
 * A region lost its primaries to a failover and is back (thawed, healed): each old primary of `service`
 * is fenced or no longer a primary, and not one row committed in its Postgres at or after `promotedAt`
 * (null: no promotion seen, nothing to count from). `between`: checks that read the same
 * /admin/state, reported between those two.
 */
export async function oldPrimaryChecks(
  ctx: ScenarioContext,
  service: ServiceName,
  old: RegionName,
  promotedAt: Date | null,
  after: keyof typeof AFTER,
  between: (state: Awaited<ReturnType<ScenarioContext['admin']['cellState']>>) => Check[] = () => [],
): Promise<Check[]> {
  const words = AFTER[after];
  const state = await ctx.admin.cellState(service, old);
  const fenced: Check = {
    name: `${service} old primary ${old} ${words.fenced}`,
    ok: state === null || state.fenced || state.role !== 'primary',
    detail: state ? `role ${state.role}, fenced ${state.fenced}, epoch ${state.epoch}` : 'not answering',
  };
  if (promotedAt === null) return [fenced, ...between(state)];
  const written = await ctx.backend.cells
    .countCellWrites(service, old, promotedAt)
    .catch((err: Error) => err);
  return [
    fenced,
    ...between(state),
    {
      name: `split-brain: ${service} ${words.rows} in ${old} after ${words.promotion}`,
      ok: written === 0,
      detail:
        written instanceof Error
          ? `could not read ${old} Postgres: ${written.message}`
          : `${written} row(s) ${words.done} in ${old} at or after ${promotedAt.toISOString()} (promoted ${otherRegion(old)})`,
    },
  ];
}

/**
 * A fault's `whileLoaded`: wait until every service it moves has been routed elsewhere (or until
 * `undoUnderLoadMs` before the load ends), then undo the fault, so the old region spends that long
 * back under load — its chance to misbehave — before the checks.
 */
export async function failOverThenUndo(
  ctx: ScenarioContext,
  plan: AnyPlan,
  window: { faultMs: number; loadEndsAtMs: number },
  how: { undoUnderLoadMs: number; affected: string; undoing: string; undo: () => Promise<void> },
): Promise<void> {
  const latest = window.loadEndsAtMs - how.undoUnderLoadMs;
  const routed = await waitForEvents(ctx, 'routed', plan.expectation.failsOver, window.faultMs, latest);
  ctx.log(
    routed
      ? `every ${how.affected} service failed over; ${how.undoing}`
      : `not every service failed over; ${how.undoing} anyway`,
  );
  await how.undo();
}
