// One Redis of a cell: master in the primary region, replica in the other (docs/contracts.md
// "Data stores"). Shared by the lab supervisor and the test helper.

import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
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
  dir: string;
  logFile: string;
}

export type RedisRole = 'master' | 'replica';

export const redisUrl = (node: Pick<RedisNode, 'host' | 'port'>) => `redis://${node.host}:${node.port}`;

/**
 * Starts redis-server as its own process group. A replica's old dump is deleted first: Redis
 * reloads it on start and would serve stale data until the first sync (docs/facts.md, "Replica dumps").
 */
export function startRedis(
  node: RedisNode,
  replicaOf?: { host: string; port: number; replicationHost?: string },
): ChildProcess {
  mkdirSync(node.dir, { recursive: true, mode: 0o755 });
  rmSync(join(node.dir, 'dump.rdb'), { force: true });
  const args = [
    ...['--bind', node.host, '--port', String(node.port), '--dir', node.dir],
    ...['--save', '', '--appendonly', 'no', '--rdb-del-sync-files', 'yes'],
    ...['--daemonize', 'no', '--protected-mode', 'no', '--logfile', ''],
    // a replica's full sync would otherwise wait 5 s for more replicas to join the transfer
    ...['--repl-diskless-sync-delay', '0'],
  ];
  if (replicaOf)
    args.push('--replicaof', replicaOf.replicationHost ?? replicaOf.host, String(replicaOf.port));
  return spawnGroup({ command: 'redis-server', args, logFile: node.logFile });
}

/** One command on a short-lived connection that never retries (a dead Redis answers fast). */
export async function redisCommand(
  node: Pick<RedisNode, 'host' | 'port'>,
  command: string,
  args: (string | number)[] = [],
  timeoutMs = 1_000,
): Promise<unknown> {
  const client = new Redis({
    host: node.host,
    port: node.port,
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
