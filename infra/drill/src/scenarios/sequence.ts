// Chains of faults, under load, each step audited (the sequences, not single faults):
//
//   restore-after-thaw: freeze A → failover to B → thaw A → kill B's payments Postgres → restore B
//   sequence:           the same, then restore A as well (both regions restored)
//
// The trap: after the thaw A's nodes are alive and out of recovery (fenced), so a restore that asks
// "which Postgres is alive and not in recovery?" takes A for the primary and rebuilds B from it,
// deleting every write since the failover and leaving two primaries. Restore must follow the router's
// persisted route and epoch: B's payments comes back as the primary it was, from its own data.
import {
  type Fault,
  otherRegion,
  REGIONS,
  type RegionName,
  SERVICES,
  type ServiceName,
} from '@failover-lab/contracts';
import { routerServices, steadyStateProblems } from '../steady-state';
import type { StepRecorder } from '../steps';
import {
  composeLeaseWaitTolerated,
  firstEventAfter,
  oldPrimaryChecks,
  RESET_TIMEOUT_MS,
  regionPlan,
  restoreAndSettle,
  servedByNewRegion,
  waitForEvents,
} from './common';
import type { Check, Plan, Scenario, ScenarioContext } from './scenario';

/** Failover after a freeze, and a restore of one region, on a machine at load 6-8. */
const FAILOVER_BOUND_MS = 30_000;
const RESTORE_BOUND_MS = 60_000;
/** How long the thawed region runs beside the new primaries before its checks (its chance to write). */
const THAWED_MS = 3_000;
/** After the kill: the controller's chance to do the wrong thing (fail payments over to fenced A). */
const KILLED_MS = 4_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type ChainName = 'restore-after-thaw' | 'sequence';

/**
 * The chain kills the new primary's payments Postgres while the only other region is fenced: payments
 * has no primary to fail over to until the restore, so its keyed transfers can fail meanwhile. The
 * freeze's own failover holds or resends them all (region-freeze's verdict is strict).
 */
const PAYMENTS_HAS_NO_PRIMARY =
  "the new primary's payments Postgres is killed while the old region is fenced: payments has no primary " +
  'to fail over to until the restore';

function chain(name: ChainName): Scenario {
  const restoresBoth = name === 'sequence';
  return {
    name,
    summary: restoresBoth
      ? "freeze the primary region, fail over, thaw it, kill the new primary's payments Postgres, restore both regions; audit after every step"
      : "freeze the primary region, fail over, thaw it, kill the new primary's payments Postgres, restore that region",
    expected:
      'pass — every service fails over once; the thawed old primaries stay fenced (0 rows after the promotion); ' +
      "payments is not failed back to the fenced region while the new primary's database is down; restoring that " +
      'region brings its payments back as the primary at the same epoch from its own data (never rebuilt from the ' +
      'fenced node), so no acknowledged write is lost at any step' +
      (restoresBoth
        ? '; restoring the old region makes it the standby of every service again, sync restored'
        : ''),
    plan: async (ctx) => {
      const plan = await regionPlan(ctx, 'region_freeze');
      return composeLeaseWaitTolerated(ctx, {
        ...plan,
        expectation: {
          ...plan.expectation,
          retrySafeFailuresExpected: { payments: PAYMENTS_HAS_NO_PRIMARY },
        },
      });
    },
    inject: (ctx, plan) => runChain(ctx, plan, restoresBoth),
    verify: async (_ctx, plan, input) => servedByNewRegion(plan, input),
    // restore-after-thaw leaves the old region fenced; the sequence restored it already
    reset: async (ctx, plan) => {
      if ((await steadyStateProblems(ctx.admin)).length > 0)
        await restoreAndSettle(ctx, plan.fault.target.region);
    },
  };
}

export const restoreAfterThaw = chain('restore-after-thaw');
export const sequence = chain('sequence');

async function runChain(ctx: ScenarioContext, plan: Plan, restoresBoth: boolean): Promise<void> {
  const steps = ctx.steps;
  if (!steps) throw new Error('a chained drill needs the runner’s step recorder');
  const a = plan.fault.target.region;
  const b = otherRegion(a);
  const moved = plan.expectation.failsOver;

  const faultMs = Date.now();
  await ctx.backend.faults.apply(plan.fault);
  const promotedAt = new Map<ServiceName, number>();
  await steps.run({
    name: `freeze ${a} → failover to ${b}`,
    fault: plan.fault,
    appliedAtMs: faultMs,
    settle: (t) => waitForEvents(ctx, 'routed', moved, t, Date.now() + FAILOVER_BOUND_MS).then(() => {}),
    checks: async (t) => {
      const events = await ctx.admin.events(new Date(t - 1));
      return moved.map((service) => {
        const promoted = firstEventAfter(events, 'promoted', service, t);
        if (promoted) promotedAt.set(service, Date.parse(promoted.at));
        return {
          name: `${service} failed over to ${b}`,
          ok: promoted?.region === b,
          detail: promoted ? `promoted ${promoted.region} at epoch ${promoted.epoch}` : 'no promotion seen',
        };
      });
    },
  });
  const epochs = await epochsNow(ctx);

  await steps.run({
    name: `thaw ${a}`,
    fault: { kind: 'region_thaw', target: { region: a } },
    settle: () => sleep(THAWED_MS),
    checks: () => oldPrimariesFenced(ctx, a, moved, promotedAt),
  });

  const kill: Fault = {
    kind: 'component_kill',
    target: { region: b, service: 'payments', component: 'postgres' },
  };
  await steps.run({
    name: `kill ${b}'s payments Postgres`,
    fault: kill,
    settle: async (t) => {
      await waitForEvents(ctx, 'confirmed_down', ['payments'], t, Date.now() + FAILOVER_BOUND_MS);
      await sleep(KILLED_MS);
    },
    checks: async () => [
      await routedAt(ctx, 'payments', b, epochs.payments, 'payments not failed back to the fenced region'),
    ],
  });

  await steps.run({
    name: `restore ${b}`,
    fault: { kind: 'region_restore', target: { region: b } },
    settle: () => waitServing(ctx, RESTORE_BOUND_MS),
    checks: async () => [
      ...(await Promise.all(
        SERVICES.map((s) => routedAt(ctx, s, b, epochs[s], `${s} still primary in ${b} at its epoch`)),
      )),
      ...(await onePrimaryEach(ctx)),
    ],
  });

  if (restoresBoth) await restoreOld(steps, ctx, a, b, epochs);
}

async function restoreOld(
  steps: StepRecorder,
  ctx: ScenarioContext,
  a: RegionName,
  b: RegionName,
  epochs: Record<ServiceName, number>,
): Promise<void> {
  let problems: string[] = [];
  await steps.run({
    name: `restore ${a}`,
    fault: { kind: 'region_restore', target: { region: a } },
    settle: async () => {
      const deadline = Date.now() + RESET_TIMEOUT_MS;
      problems = await steadyStateProblems(ctx.admin);
      while (problems.length > 0 && Date.now() < deadline) {
        await sleep(300);
        problems = await steadyStateProblems(ctx.admin);
      }
    },
    checks: async () => [
      {
        name: `${a} is the standby of every service again, payments synchronous`,
        ok: problems.length === 0,
        detail: problems.length === 0 ? 'steady state' : problems.join('; '),
      },
      ...(await Promise.all(
        SERVICES.map((s) => routedAt(ctx, s, b, epochs[s], `${s} still primary in ${b} at its epoch`)),
      )),
      ...(await onePrimaryEach(ctx)),
    ],
  });
}

async function epochsNow(ctx: ScenarioContext): Promise<Record<ServiceName, number>> {
  const router = await routerServices(ctx.admin);
  return Object.fromEntries(SERVICES.map((s) => [s, router[s].epoch])) as Record<ServiceName, number>;
}

/** The router still routes `service` to `region` at `epoch`: nothing re-promoted or moved it. */
async function routedAt(
  ctx: ScenarioContext,
  service: ServiceName,
  region: RegionName,
  epoch: number,
  name: string,
): Promise<Check> {
  const router = (await routerServices(ctx.admin))[service];
  return {
    name,
    ok: router.primary === region && router.epoch === epoch,
    detail: `router: primary ${router.primary} at epoch ${router.epoch} (expected ${region} at ${epoch}), serving ${router.serving}`,
  };
}

/** After the thaw: each old primary fenced, and not one row written there since its promotion. */
async function oldPrimariesFenced(
  ctx: ScenarioContext,
  old: RegionName,
  moved: readonly ServiceName[],
  promotedAt: Map<ServiceName, number>,
): Promise<Check[]> {
  const checks: Check[] = [];
  for (const service of moved) {
    const since = promotedAt.get(service);
    checks.push(
      ...(await oldPrimaryChecks(ctx, service, old, since === undefined ? null : new Date(since), 'thaw')),
    );
  }
  return checks;
}

/** Exactly one cell per service answers as an unfenced primary. */
async function onePrimaryEach(ctx: ScenarioContext): Promise<Check[]> {
  return Promise.all(
    SERVICES.map(async (service) => {
      const states = await Promise.all(
        REGIONS.map(async (r) => ({ r, state: await ctx.admin.cellState(service, r) })),
      );
      const primaries = states.filter((s) => s.state?.role === 'primary' && !s.state.fenced).map((s) => s.r);
      return {
        name: `${service}: one unfenced primary`,
        ok: primaries.length === 1,
        detail: `unfenced primaries: ${primaries.join(', ') || 'none'}`,
      };
    }),
  );
}

async function waitServing(ctx: ScenarioContext, boundMs: number): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (Date.now() < deadline) {
    const router = await routerServices(ctx.admin).catch(() => null);
    if (router && SERVICES.every((s) => router[s].serving)) return;
    await sleep(300);
  }
}
