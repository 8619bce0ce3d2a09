// Messaging active-active in the lab (docs/active-active.md): the topology a lab was made with, both
// regions' logical replication, and bringing a lost region's cell back. Each messaging Postgres is a
// primary for its own origin's table (services/messaging/src/migrations-active-active) and subscribes
// to the other region's through the replication link, so link faults cut it like physical streaming.
import { chownSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  isServiceTopology,
  otherRegion,
  type RegionName,
  type ServiceTopology,
  subscriptionFrom,
  subscriptionStatement,
} from '@failover-lab/contracts';
import { startAppOf, startPostgresNode, startRedisNode } from './bring-up';
import { cellOf, type LabContext } from './context';
import { type PostgresNode, superuserQuery } from './datastores/postgres';
import type { LabPaths } from './paths';
import { runAsForPostgres } from './process';
import { componentId } from './processes';

const topologyFile = (paths: LabPaths) => join(paths.stateDir, 'messaging-topology');

/**
 * The lab's messaging topology: what its state was made with, else what was asked (default
 * active-passive), written down at the first `up`. Asking a warm lab for the other one is refused:
 * the data dirs of one cannot serve the other (`down --wipe` first).
 */
export function resolveMessagingTopology(
  paths: LabPaths,
  asked: ServiceTopology | undefined,
): ServiceTopology {
  const file = topologyFile(paths);
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (!isServiceTopology(stored)) throw new Error(`${file} holds no topology (${JSON.stringify(stored)})`);
    if (asked !== undefined && asked !== stored) {
      throw new Error(
        `this lab's messaging is ${stored}; it cannot come up ${asked} from the same state ` +
          '(`npm run lab -- down --wipe` first)',
      );
    }
    return stored;
  }
  const chosen = asked ?? 'active-passive';
  writeFileSync(file, `${chosen}\n`);
  return chosen;
}

function passfileOf(node: PostgresNode): string {
  return join(dirname(node.dataDir), 'subscription.pgpass');
}

/**
 * Each messaging Postgres subscribes to the other region's origin table, once (idempotent: a warm
 * `up` finds the subscriptions in the catalog, and they resume from their slots). Needs both cells'
 * migrations applied (the publications are in them). The replicator's password goes to a 0600
 * passfile, never into the catalog or a statement that could be logged.
 */
export async function ensureSubscriptions(ctx: LabContext): Promise<string[]> {
  const made: string[] = [];
  for (const region of ['dc-a', 'dc-b'] as const) {
    const here = cellOf(ctx, 'messaging', region).postgres;
    const there = cellOf(ctx, 'messaging', otherRegion(region)).postgres;
    const source = there.replicationHost ?? there.host;
    const passfile = passfileOf(here);
    const owner = runAsForPostgres();
    writeFileSync(
      passfile,
      `${source}:${there.port}:messaging:replicator:${ctx.secrets.replicatorPassword}\n`,
      {
        mode: 0o600,
      },
    );
    if (owner) chownSync(passfile, owner.uid, owner.gid);
    const name = subscriptionFrom(otherRegion(region));
    const existing = await superuserQuery(here, 'SELECT 1 FROM pg_subscription WHERE subname = $1', [name], {
      database: 'messaging',
    });
    if (existing.length > 0) continue;
    await superuserQuery(
      here,
      subscriptionStatement(region, { host: source, port: there.port, passfile }),
      [],
      { database: 'messaging', timeoutMs: 30_000 },
    );
    made.push(`${region} ${name}`);
  }
  return made;
}

/**
 * A lost region's messaging cell comes back as itself: its Postgres from its own data dir (its
 * unreplicated writes are still in its origin table and its slot, and go to the other region as soon
 * as that region's subscription reconnects), its Redis as a master, its app. Nothing is rebuilt.
 */
export async function restoreActiveActiveCell(ctx: LabContext, region: RegionName): Promise<string> {
  const { processes } = ctx;
  const here = cellOf(ctx, 'messaging', region);
  if (!processes.alive(processes.get(componentId('messaging', region, 'postgres'))))
    await startPostgresNode(ctx, here.postgres);
  if (!processes.alive(processes.get(componentId('messaging', region, 'redis'))))
    await startRedisNode(ctx, here.redis);
  await startAppOf(ctx, 'messaging', region);
  return 'active-active (its own origin; the other region replays by logical replication)';
}
