// One Redis of a cell: master in the primary region, replica in the other (docs/contracts.md
// "Data stores"). Shared by the lab supervisor and the test helper.

import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RegionName, ServiceName } from '@failover-lab/contracts';
import { Redis } from 'ioredis';
import { spawnGroup, waitUntil } from '../process';

export interface RedisNode {
  service: ServiceName;
  region: RegionName;
  host: string;
  port: number;
  /** where the other region's replica reaches this node as master (the lab: the replication link) */
  replicationHost?: string;
  /** 0700: holds the config file with the password */
  dir: string;
  logFile: string;
  /** requirepass of every node, and masterauth for a replica's link to its master */
  password: string;
}

export type RedisRole = 'master' | 'replica';

/** How cells connect (REDIS_URL): the password travels in the URL, never on a command line. */
export const redisUrl = (node: Pick<RedisNode, 'host' | 'port' | 'password'>) =>
  `redis://:${node.password}@${node.host}:${node.port}`;

/**
 * Starts redis-server as its own process group. A replica's old dump is deleted first: Redis
 * reloads it on start and would serve stale data until the first sync (docs/facts.md, "Replica dumps").
 * Every setting goes in a 0600 config file in the node's 0700 dir: the password must not show in the
 * process list, as it would on redis-server's command line.
 */
export function startRedis(
  node: RedisNode,
  replicaOf?: { host: string; port: number; replicationHost?: string },
): ChildProcess {
  // recursive mkdir gives every new parent the same mode: the cell's dir must stay enterable for
  // Postgres' OS user (its data dir is beside this one)
  mkdirSync(dirname(node.dir), { recursive: true, mode: 0o755 });
  mkdirSync(node.dir, { recursive: true, mode: 0o700 });
  chmodSync(node.dir, 0o700);
  rmSync(join(node.dir, 'dump.rdb'), { force: true });
  const settings: [string, string][] = [
    ['bind', node.host],
    ['port', String(node.port)],
    ['dir', node.dir],
    ['save', '""'],
    ['appendonly', 'no'],
    ['rdb-del-sync-files', 'yes'],
    ['daemonize', 'no'],
    ['logfile', '""'],
    // Without a password any local user could FLUSHALL, CLIENT PAUSE the sign-in limiter into failing
    // open, or PUBLISH forged chat messages. Every node has one; a replica presents it to its master
    // (any node may be either after a failover). Protected mode stays on as a second guard.
    ['protected-mode', 'yes'],
    ['requirepass', node.password],
    ['masterauth', node.password],
    // a replica's full sync would otherwise wait 5 s for more replicas to join the transfer
    ['repl-diskless-sync-delay', '0'],
  ];
  if (replicaOf)
    settings.push(['replicaof', `${replicaOf.replicationHost ?? replicaOf.host} ${replicaOf.port}`]);
  const conf = join(node.dir, 'redis.conf');
  writeFileSync(conf, `${settings.map(([k, v]) => `${k} ${v}`).join('\n')}\n`, { mode: 0o600 });
  chmodSync(conf, 0o600);
  return spawnGroup({ command: 'redis-server', args: [conf], logFile: node.logFile });
}

/** One command on a short-lived connection that never retries (a dead Redis answers fast). */
export async function redisCommand(
  node: Pick<RedisNode, 'host' | 'port' | 'password'>,
  command: string,
  args: (string | number)[] = [],
  timeoutMs = 1_000,
): Promise<unknown> {
  const client = new Redis({
    host: node.host,
    port: node.port,
    password: node.password,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(command, ...args);
  } finally {
    client.disconnect();
  }
}

/** Resolves on a real PONG (a loading Redis answers LOADING errors, which keep us waiting). */
export async function waitRedisReady(node: RedisNode, server?: ChildProcess, timeoutMs = 15_000) {
  await waitUntil(
    `redis ${node.service}/${node.region} to answer PING (log: ${node.logFile})`,
    async () => (await redisCommand(node, 'PING', [], 500)) === 'PONG',
    timeoutMs,
    25,
    server,
  );
}

export interface RedisReplicationInfo {
  role: RedisRole;
  /** replica: master_link_status (up|down); master: connected replica count */
  link: string;
}

export async function redisReplicationInfo(
  node: RedisNode,
  timeoutMs = 1_000,
): Promise<RedisReplicationInfo> {
  const info = String(await redisCommand(node, 'INFO', ['replication'], timeoutMs));
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  if (field('role') === 'slave') return { role: 'replica', link: field('master_link_status') ?? 'unknown' };
  return { role: 'master', link: `${field('connected_slaves') ?? '0'} replica(s)` };
}

/** Resolves once a replica reports its link to the master up. */
export async function waitRedisLinked(node: RedisNode, timeoutMs = 15_000): Promise<void> {
  await waitUntil(
    `redis ${node.service}/${node.region} to sync with its master`,
    async () => {
      const info = await redisReplicationInfo(node, 500);
      return info.role === 'replica' && info.link === 'up';
    },
    timeoutMs,
  );
}
