// Test helper for other workspaces' integration tests: a real Postgres primary (+ streaming
// standby) and Redis (+ replica) for one service, set up exactly like the lab (same modules), on a
// random subnet in a temp dir. stop() kills every process it started and removes the dir.

import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPLICATION_MODE, type RegionName, type ServiceName } from '@failover-lab/contracts';
import type pg from 'pg';
import { type CellNodes, cellNodes } from './cell-nodes';
import {
  bootstrapPrimary,
  databaseUrl,
  type PostgresNode,
  startCopiedStandby,
  superuserQuery,
} from './datastores/postgres';
import { type RedisNode, redisUrl, startRedis, waitRedisLinked, waitRedisReady } from './datastores/redis';
import { LabPaths } from './paths';
import { killFamily, signalFamily } from './process';
import { loadOrCreateSecrets } from './secrets';
import { leaseSubnet } from './subnet-lease';
import { DEFAULT_PORTS } from './topology';

export interface CellStores {
  region: RegionName;
  host: string;
  /** as role `app`, the way cells connect */
  databaseUrl: string;
  /** superuser query through the node's unix socket (sync commit off for the session) */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  redisUrl: string;
  pgPid: number;
  redisPid: number;
  /** signals the Postgres and Redis processes (postmaster with all its backends) */
  kill(signal?: NodeJS.Signals): void;
  postgres: PostgresNode;
  redis: RedisNode;
}

export interface TestDataTier {
  subnet: number;
  stateDir: string;
  primary: CellStores;
  standby?: CellStores;
  secrets: { appPassword: string; adminToken: string };
  stop(): Promise<void>;
}

export interface TestDataTierOptions {
  service: ServiceName;
  standby?: boolean;
  /** second octet of every address; by default a free one of 100-250, leased until stop() */
  subnet?: number;
  /** kept after stop() when given; a fresh temp dir (removed on stop) otherwise */
  stateDir?: string;
}

/** A temp dir the postgres OS user can enter (mkdtemp makes it 0700). */
export function makeTempStateDir(prefix = 'flab-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * Starts the tier; on a subnet it picked itself, tries twice more on fresh ones: the lease keeps this
 * machine's test runs apart, but an address can still be taken by someone else's lab, and then one
 * Postgres fails to bind.
 */
export async function startTestDataTier(opts: TestDataTierOptions): Promise<TestDataTier> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (error) {
      if (opts.subnet !== undefined || attempt >= 3) throw error;
    }
  }
}

async function startOnce(opts: TestDataTierOptions): Promise<TestDataTier> {
  const lease = await leaseSubnet(opts.subnet);
  const { subnet } = lease;
  const ownsStateDir = opts.stateDir === undefined;
  const stateDir = opts.stateDir ?? makeTempStateDir();
  const paths = new LabPaths(stateDir);
  paths.ensureBaseDirs();
  const secrets = loadOrCreateSecrets(paths.secretsFile);
  const started: ChildProcess[] = [];

  // No link proxies here: the standby reaches its primary directly.
  const nodesFor = (region: RegionName): CellNodes => {
    const nodes = cellNodes(paths, subnet, DEFAULT_PORTS, opts.service, region, secrets);
    return {
      ...nodes,
      postgres: { ...nodes.postgres, replicationHost: undefined },
      redis: { ...nodes.redis, replicationHost: undefined },
    };
  };

  const stop = async () => {
    await Promise.all(started.map((child) => (child.pid ? killFamily(child.pid) : true)));
    if (ownsStateDir) rmSync(stateDir, { recursive: true, force: true });
    for (const dir of paths.socketFallbackDirs()) rmSync(dir, { recursive: true, force: true });
    lease.release();
  };

  const describe = (nodes: CellNodes, pgProcess: ChildProcess, redisProcess: ChildProcess): CellStores => ({
    region: nodes.postgres.region,
    host: nodes.postgres.host,
    databaseUrl: databaseUrl(nodes.postgres, secrets.appPassword),
    query: (sql, params) => superuserQuery(nodes.postgres, sql, params, { database: opts.service }),
    redisUrl: redisUrl(nodes.redis),
    pgPid: pgProcess.pid!,
    redisPid: redisProcess.pid!,
    kill: (signal = 'SIGKILL') => {
      signalFamily(pgProcess.pid!, signal);
      signalFamily(redisProcess.pid!, signal);
    },
    postgres: nodes.postgres,
    redis: nodes.redis,
  });

  try {
    const primaryNodes = nodesFor('dc-a');
    const primaryRedis = startRedis(primaryNodes.redis);
    started.push(primaryRedis);
    const syncStandby = opts.standby ? 'dc-b' : undefined;
    const track = (child: ChildProcess) => started.push(child);
    const standbyNodes = opts.standby ? nodesFor('dc-b') : undefined;
    const primaryPg = await bootstrapPrimary(
      primaryNodes.postgres,
      secrets,
      syncStandby,
      track,
      REPLICATION_MODE[opts.service],
      { standby: standbyNodes?.postgres },
    );
    await waitRedisReady(primaryNodes.redis, primaryRedis);
    const primary = describe(primaryNodes, primaryPg, primaryRedis);

    let standby: CellStores | undefined;
    if (standbyNodes) {
      const replicaRedis = startRedis(standbyNodes.redis, primaryNodes.redis);
      started.push(replicaRedis);
      const standbyPg = await startCopiedStandby(standbyNodes.postgres, primaryNodes.postgres, track);
      await waitRedisLinked(standbyNodes.redis);
      standby = describe(standbyNodes, standbyPg, replicaRedis);
    }
    return {
      subnet,
      stateDir,
      primary,
      standby,
      secrets: { appPassword: secrets.appPassword, adminToken: secrets.adminToken },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
