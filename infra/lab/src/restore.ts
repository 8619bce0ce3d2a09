// Bringing a dead or fenced region back, cell by cell (the reset of a kill, and the lab's `restore`).
// What happens to a cell is decided from the router's persisted route and epoch (asked over its admin
// API) and what both of its Postgres nodes are observed to be (restore-plan.ts, a pure table): a
// healthy cell (the router's primary, or a standby of it) is left running — killing it would hand the
// router a failover to race with — and only its dead Redis or app are restarted; a dead cell or a
// second primary the router does not route to (a fenced old primary) is rebuilt as standby of the
// router's primary by pg_rewind (a fresh pg_basebackup when that fails), Redis following as replica of the current
// master; the router's primary, when its Postgres died, is started again from its own data dir; a
// node whose timeline is newer than its source's is never rebuilt; and a node that runs but does not
// answer is never guessed about.
import { otherRegion, type RegionName, SERVICES, type ServiceName } from '@failover-lab/contracts';
import { restoreActiveActiveCell } from './active-active';
import {
  rejoinAsStandby,
  settleAll,
  startAppOf,
  startPostgresNode,
  startRedisNode,
  trackPostgres,
} from './bring-up';
import { cellOf, type LabContext } from './context';
import {
  currentTimeline,
  isInitialized,
  isInRecovery,
  type PostgresNode,
  roleOnDisk,
  timelineOnDisk,
} from './datastores/postgres';
import { type RedisNode, redisCommand, redisReplicationInfo } from './datastores/redis';
import { sleep } from './process';
import { componentId, type Managed } from './processes';
import { quarantineForkedRows, readStoppedStalePrimary, reportForkedRows } from './quarantine';
import { type ControlPlaneView, type PgObservation, planRestore } from './restore-plan';
import { serviceTopology } from './topology';

/** how long restore keeps asking a running Postgres whether it is in recovery before calling it unknown */
const RESTORE_OBSERVE_MS = 10_000;

/** What each service's cell in the region became. */
export async function restoreRegion(ctx: LabContext, region: RegionName): Promise<Record<string, string>> {
  const roles: Record<string, string> = {};
  const control = await askControlPlane(ctx);
  await settleAll(
    SERVICES.map(async (service) => {
      roles[service] = await restoreCell(ctx, service, region, control(service));
    }),
  );
  return roles;
}

/** how long restore waits for the router's answer */
const CONTROL_PLANE_TIMEOUT_MS = 5_000;

/**
 * The router's persisted primary and epoch per service (GET /admin/status with the lab's admin
 * token). A lab that runs no router has no control plane: nothing fails over by itself there.
 */
async function askControlPlane(ctx: LabContext): Promise<(service: ServiceName) => ControlPlaneView> {
  if (!ctx.components.some((c) => c.kind === 'router')) return () => ({ kind: 'none' });
  const url = `${ctx.topo.edge.routerUrl}/admin/status`;
  let services: Record<string, { primary?: unknown; epoch?: unknown }>;
  try {
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${ctx.secrets.adminToken}` },
      signal: AbortSignal.timeout(CONTROL_PLANE_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
    services = ((await res.json()) as { services: typeof services }).services;
  } catch (err) {
    const reason = (err as Error).message;
    return () => ({ kind: 'unreachable', reason });
  }
  return (service) => {
    const s = services[service];
    if (typeof s?.primary !== 'string' || typeof s.epoch !== 'number') {
      return { kind: 'unreachable', reason: `the router reports no route for ${service}` };
    }
    return { kind: 'route', primary: s.primary, epoch: s.epoch };
  };
}

async function restoreCell(
  ctx: LabContext,
  service: ServiceName,
  region: RegionName,
  control: ControlPlaneView,
): Promise<string> {
  if (serviceTopology(ctx.topo, service) === 'active-active') return restoreActiveActiveCell(ctx, region);
  const { processes } = ctx;
  const other = otherRegion(region);
  const here = cellOf(ctx, service, region);
  const there = cellOf(ctx, service, other);
  const [hereState, otherState] = await Promise.all([
    observePostgres(ctx, processes.get(componentId(service, region, 'postgres')), here.postgres),
    observePostgres(ctx, processes.get(componentId(service, other, 'postgres')), there.postgres),
  ]);
  const [hereTimeline, otherTimeline] = await Promise.all([
    timelineOf(here.postgres, hereState),
    timelineOf(there.postgres, otherState),
  ]);
  const hereOnDisk = isInitialized(here.postgres) ? roleOnDisk(here.postgres) : null;
  const plan = planRestore(
    {
      here: hereState,
      other: otherState,
      hereOnDisk,
      control,
      hereTimeline,
      otherTimeline,
    },
    { here: region, other },
  );
  const killCell = () =>
    settleAll(processes.reachedBy({ region, service }).map((m) => processes.stop(m, 'SIGKILL')));
  switch (plan.kind) {
    case 'refuse':
      throw new Error(`${service}: ${plan.reason}`);
    case 'keep':
      if (!processes.alive(processes.get(componentId(service, region, 'redis')))) {
        await startRedisNode(ctx, here.redis, plan.as === 'standby' ? there.redis : undefined);
      }
      await startAppOf(ctx, service, region);
      return plan.as === 'primary' ? 'primary (healthy, kept)' : `standby of ${other} (healthy, kept)`;
    case 'rebuild_standby': {
      // A stale primary may hold writes the router's primary never got: keep them first. A running
      // one is read as it runs. A down one, or a frozen one (killed with its cell: thawing is the
      // drill's job, and a thawed one could take writes), is started privately to be read.
      const running =
        hereState === 'primary'
          ? await quarantineForkedRows(here.postgres, there.postgres, ctx.paths.quarantineDir)
          : null;
      await killCell();
      const read = running
        ? reportForkedRows(ctx.log, here.postgres, running)
        : hereOnDisk === 'primary'
          ? await readStoppedStalePrimary(
              { log: ctx.log, quarantineDir: ctx.paths.quarantineDir },
              here.postgres,
              there.postgres,
              {
                onStarted: trackPostgres(ctx, here.postgres),
                stop: () => processes.stop(processes.get(componentId(service, region, 'postgres'))),
              },
            )
          : null;
      const joined = await rejoinAsStandby(ctx, here.postgres, there.postgres);
      await alignRedisMaster(there.redis);
      await startRedisNode(ctx, here.redis, there.redis);
      await startAppOf(ctx, service, region);
      return `standby of ${other} (${[joined.how, ...(read?.notes ?? [])].join('; ')})`;
    }
    case 'restart_primary':
      await killCell();
      await startPostgresNode(ctx, here.postgres);
      await startRedisNode(ctx, here.redis);
      await startAppOf(ctx, service, region);
      return control.kind === 'route'
        ? `primary (the router's, epoch ${control.epoch})`
        : 'primary (no failover happened)';
  }
}

/**
 * What restore needs to know of a Postgres node. A running node gets several tries before it is
 * called `unknown`: on a machine at load 6-7 a single connection can miss a 2 s timeout.
 */
async function observePostgres(
  ctx: LabContext,
  m: Managed | undefined,
  node: PostgresNode,
): Promise<PgObservation> {
  const { processes } = ctx;
  if (!processes.alive(m)) return 'absent';
  if (processes.frozen(m)) return 'frozen';
  const deadline = Date.now() + RESTORE_OBSERVE_MS;
  for (;;) {
    const inRecovery = await isInRecovery(node).catch(() => undefined);
    if (inRecovery !== undefined) return inRecovery ? 'standby' : 'primary';
    if (!processes.alive(m)) return 'absent';
    if (Date.now() >= deadline) return 'unknown';
    await sleep(250);
  }
}

/**
 * A running primary's timeline is the one it writes on: its control file shows the new timeline only
 * after the checkpoint that follows a promotion (a switchover just before a restore read dc-b as still
 * on the old timeline, and restore refused to rebuild dc-a from it). Anything else: the control file.
 */
async function timelineOf(node: PostgresNode, state: PgObservation): Promise<number | null> {
  if (state === 'primary') {
    const live = await currentTimeline(node).catch(() => null);
    if (live !== null) return live;
  }
  return timelineOnDisk(node).catch(() => null);
}

/** Redis follows Postgres: the master is where the primary is (the cell promotes both). */
async function alignRedisMaster(master: RedisNode) {
  const info = await redisReplicationInfo(master).catch(() => undefined);
  if (info?.role === 'replica') await redisCommand(master, 'REPLICAOF', ['NO', 'ONE']);
}
