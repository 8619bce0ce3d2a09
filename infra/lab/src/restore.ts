// Bringing a dead or fenced region back, cell by cell (the reset of a kill, and the lab's
// `restore`). A cell whose Postgres is down, frozen, or a second primary (a fenced old primary) is
// rebuilt: its processes are killed and, if the other region holds the primary, a fresh
// pg_basebackup (new slot) makes it that primary's standby and Redis restarts as replica of the
// current master; if no failover happened it comes back as the primary it was. A healthy cell (a
// primary with a standby partner, or a standby of a live primary) is left running — killing it would
// hand the router a failover to race with — and only its dead Redis or app are restarted.
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
import { componentId } from './processes';

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
  const herePg = processes.get(componentId(service, region, 'postgres'));
  const otherPg = processes.get(componentId(service, other, 'postgres'));
  if (processes.frozen(otherPg)) {
    // cannot tell whether a frozen node was promoted: guessing could make two primaries
    throw new Error(`${service}: ${other} is frozen; thaw it before restoring ${region}`);
  }
  const recovering = (node: PostgresNode) => isInRecovery(node).catch(() => undefined);
  const hereInRecovery =
    processes.alive(herePg) && !processes.frozen(herePg) ? await recovering(here.postgres) : undefined;
  const otherIsPrimary = processes.alive(otherPg) && (await recovering(there.postgres)) === false;

  const healthyPrimary = hereInRecovery === false && !otherIsPrimary;
  const healthyStandby = hereInRecovery === true && otherIsPrimary;
  if (healthyPrimary || healthyStandby) {
    if (!processes.alive(processes.get(componentId(service, region, 'redis')))) {
      await startRedisNode(ctx, here.redis, healthyStandby ? there.redis : undefined);
    }
    await startAppOf(ctx, service, region);
    return healthyPrimary ? 'primary (healthy, kept)' : `standby of ${other} (healthy, kept)`;
  }

  await settleAll(processes.reachedBy({ region, service }).map((m) => processes.stop(m, 'SIGKILL')));
  let role: string;
  if (otherIsPrimary) {
    await bootstrapStandby(here.postgres, there.postgres, ctx.secrets, trackPostgres(ctx, here.postgres));
    await alignRedisMaster(there.redis);
    await startRedisNode(ctx, here.redis, there.redis);
    role = `standby of ${other}`;
  } else if (isInitialized(here.postgres) && roleOnDisk(here.postgres) === 'primary') {
    // No failover happened (the other side is still a standby, or down): this region's data
    // dir is still the primary, so it comes back as it was.
    await startPostgresNode(ctx, here.postgres);
    await startRedisNode(ctx, here.redis);
    role = 'primary (no failover happened)';
  } else {
    throw new Error(`${service}: no live primary in ${other} to restore ${region} from`);
  }
  await startAppOf(ctx, service, region);
  return role;
}

/** Redis follows Postgres: the master is where the primary is (the cell promotes both). */
async function alignRedisMaster(master: RedisNode) {
  const info = await redisReplicationInfo(master).catch(() => undefined);
  if (info?.role === 'replica') await redisCommand(master, 'REPLICAOF', ['NO', 'ONE']);
}
