// Bringing a dead or fenced region back, cell by cell (the reset of a kill, and the lab's `restore`).
// What happens to a cell is decided from what both of its Postgres nodes are observed to be
// (restore-plan.ts, a pure table): a healthy cell (a primary with a standby partner, or a standby of a
// live primary) is left running — killing it would hand the router a failover to race with — and
// only its dead Redis or app are restarted; a dead cell or a second primary (a fenced old primary) is
// rebuilt as standby of the other region's primary by a fresh pg_basebackup (new slot), Redis
// following as replica of the current master; if no failover happened it comes back as the primary it
// was; and a node that runs but does not answer is never guessed about.
import { otherRegion, type RegionName, SERVICES, type ServiceName } from '@failover-lab/contracts';
import { settleAll, startAppOf, startPostgresNode, startRedisNode, trackPostgres } from './bring-up';
import { cellOf, type LabContext } from './context';
import {
  bootstrapStandby,
  isInitialized,
  isInRecovery,
  type PostgresNode,
  roleOnDisk,
} from './datastores/postgres';
import { type RedisNode, redisCommand, redisReplicationInfo } from './datastores/redis';
import { sleep } from './process';
import { componentId, type Managed } from './processes';
import { type PgObservation, planRestore } from './restore-plan';

/** how long restore keeps asking a running Postgres whether it is in recovery before calling it unknown */
const RESTORE_OBSERVE_MS = 10_000;

/** What each service's cell in the region became. */
export async function restoreRegion(ctx: LabContext, region: RegionName): Promise<Record<string, string>> {
  const roles: Record<string, string> = {};
  await settleAll(
    SERVICES.map(async (service) => {
      roles[service] = await restoreCell(ctx, service, region);
    }),
  );
  return roles;
}

async function restoreCell(ctx: LabContext, service: ServiceName, region: RegionName): Promise<string> {
  const { processes } = ctx;
  const other = otherRegion(region);
  const here = cellOf(ctx, service, region);
  const there = cellOf(ctx, service, other);
  const [hereState, otherState] = await Promise.all([
    observePostgres(ctx, processes.get(componentId(service, region, 'postgres')), here.postgres),
    observePostgres(ctx, processes.get(componentId(service, other, 'postgres')), there.postgres),
  ]);
  const plan = planRestore(
    {
      here: hereState,
      other: otherState,
      hereOnDisk: isInitialized(here.postgres) ? roleOnDisk(here.postgres) : null,
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
    case 'rebuild_standby':
      await killCell();
      await bootstrapStandby(here.postgres, there.postgres, ctx.secrets, trackPostgres(ctx, here.postgres));
      await alignRedisMaster(there.redis);
      await startRedisNode(ctx, here.redis, there.redis);
      await startAppOf(ctx, service, region);
      return `standby of ${other}`;
    case 'restart_primary':
      await killCell();
      await startPostgresNode(ctx, here.postgres);
      await startRedisNode(ctx, here.redis);
      await startAppOf(ctx, service, region);
      return 'primary (no failover happened)';
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

/** Redis follows Postgres: the master is where the primary is (the cell promotes both). */
async function alignRedisMaster(master: RedisNode) {
  const info = await redisReplicationInfo(master).catch(() => undefined);
  if (info?.role === 'replica') await redisCommand(master, 'REPLICAOF', ['NO', 'ONE']);
}
