// Redis Sentinel 7.0: three sentinels, quorum 2, watching one Redis master/replica pair, with ioredis
// as the sentinel-aware client (it asks a sentinel where the master is and asks again on reconnect).
// A fresh pair and fresh sentinels (they rewrite their config files) for every run.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { wallNow } from '../load';
import { type SentinelEvent, sentinelSpuriousFailovers } from '../measure';
import { sleep, waitFor } from '../util';
import type { BenchContext, ConfigName, PreparedRun, SystemUnderTest } from './types';

const MASTER_NAME = 'mymaster';

interface SentinelTiming {
  downAfterMs: number | null;
  failoverTimeoutMs: number | null;
  client: Pick<RedisOptions, 'retryStrategy' | 'maxRetriesPerRequest'>;
}

// Sentinel's defaults: down-after-milliseconds 30000, failover-timeout 180000; ioredis's defaults.
const DEFAULTS: SentinelTiming = { downAfterMs: null, failoverTimeoutMs: null, client: {} };

// Fast detection on the server, and a client that asks the sentinels again every 100 ms instead of
// backing off (ioredis's default backoff grows by 50 ms per attempt up to 2 s). Not ioredis's
// `failoverDetector`: a killed master closes its sockets, so reconnecting finds the switch anyway, and
// with ioredis 6.0.0 a +switch-master that arrives while the client is connecting ends the client
// for good (status connecting → end, every later command "Connection is closed."; 2 of 9 runs here).
const TUNED: SentinelTiming = {
  downAfterMs: 1000,
  failoverTimeoutMs: 5000,
  // 50 reconnects × 100 ms outlast the application's own 5 s timeout; ioredis's default of 20 would
  // fail every queued command after 2 s, just before a 1 s down-after failover completes.
  client: { retryStrategy: () => 100, maxRetriesPerRequest: 50 },
};

function addresses(subnet: number) {
  return {
    nodes: [`127.${subnet}.111.1`, `127.${subnet}.112.1`],
    sentinels: [1, 2, 3].map((i) => `127.${subnet}.110.${i}`),
  };
}

// Redis rewrites its process title; {config-file} keeps this run's root in it for the cleanup sweep.
const TITLE = 'proc-title-template "{title} {listen-addr} {server-mode} {config-file}"';

export function redisConfig(host: string, dir: string, masterHost?: string): string {
  return [
    `bind ${host}`,
    'port 6379',
    `dir ${dir}`,
    'save ""',
    'appendonly no',
    'rdb-del-sync-files yes',
    // the master would wait 5 s for more replicas before the first sync; set-up time only
    'repl-diskless-sync-delay 0',
    // Connections from any 127.x come from 127.0.0.1: without this the master would list its
    // replica as 127.0.0.1:6379 and Sentinel would fail over to whatever listens there.
    `replica-announce-ip ${host}`,
    TITLE,
    ...(masterHost ? [`replicaof ${masterHost} 6379`] : []),
    '',
  ].join('\n');
}

export function sentinelConfig(
  host: string,
  dir: string,
  masterHost: string,
  timing: SentinelTiming,
): string {
  return [
    `bind ${host}`,
    'port 26379',
    `dir ${dir}`,
    // same reason: each sentinel must announce its own address, not 127.0.0.1
    `sentinel announce-ip ${host}`,
    'sentinel announce-port 26379',
    TITLE,
    `sentinel monitor ${MASTER_NAME} ${masterHost} 6379 2`,
    ...(timing.downAfterMs === null
      ? []
      : [`sentinel down-after-milliseconds ${MASTER_NAME} ${timing.downAfterMs}`]),
    ...(timing.failoverTimeoutMs === null
      ? []
      : [`sentinel failover-timeout ${MASTER_NAME} ${timing.failoverTimeoutMs}`]),
    '',
  ].join('\n');
}

function redisErrorCode(err: unknown): string {
  const e = err as { name?: string; code?: unknown; message?: string };
  if (typeof e.code === 'string') return e.code;
  const message = e.message ?? String(err);
  const prefix = /^([A-Z]{3,})\b/.exec(message);
  if (prefix) return prefix[1]!;
  if (e.name && e.name !== 'Error') return e.name;
  return message.slice(0, 60);
}

const plain = (host: string, port: number) => {
  const r = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => {});
  return r;
};

export class SentinelSystem implements SystemUnderTest {
  readonly system = 'sentinel' as const;
  readonly settings: string;
  readonly maxAfterFaultMs: number;
  private readonly timing: SentinelTiming;

  constructor(readonly config: ConfigName) {
    this.timing = config === 'tuned' ? TUNED : DEFAULTS;
    this.settings =
      config === 'tuned'
        ? 'down-after-milliseconds 1000, failover-timeout 5000; ioredis reconnecting every 100 ms, up to 50 times per request'
        : 'down-after-milliseconds 30000, failover-timeout 180000 (Sentinel defaults); ioredis defaults';
    this.maxAfterFaultMs = (this.timing.downAfterMs ?? 30_000) + 40_000;
  }

  async prepare(): Promise<void> {}
  async finish(): Promise<void> {}

  async startRun(ctx: BenchContext, run: number): Promise<PreparedRun> {
    const a = addresses(ctx.subnet);
    const runDir = join(ctx.procs.root, `sentinel-${this.config}-${run}`);
    const pids: number[] = [];
    const connections: Redis[] = [];
    const events: SentinelEvent[] = [];
    const [masterHost, replicaHost] = a.nodes as [string, string];

    // a failed start keeps its logs for the caller to copy; the whole root goes at the end anyway
    const stop = async (removeDir: boolean) => {
      for (const c of connections) c.disconnect();
      await ctx.procs.kill(pids);
      if (removeDir && !ctx.keepState) rmSync(runDir, { recursive: true, force: true });
    };

    try {
      const t0 = Date.now();
      for (const [i, host] of a.nodes.entries()) {
        const dir = join(runDir, `r${i + 1}`);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'redis.conf'), redisConfig(host, dir, i === 0 ? undefined : masterHost));
        pids.push(
          ctx.procs.spawn({
            command: '/usr/bin/redis-server',
            args: [join(dir, 'redis.conf')],
            logFile: join(dir, 'redis.log'),
          }).pid!,
        );
      }
      const masterPid = pids[0]!;
      const replica = plain(replicaHost, 6379);
      connections.push(replica);
      await waitFor(`Redis replica ${replicaHost} linked`, 20_000, async () => {
        if (replica.status !== 'ready') await replica.connect().catch(() => {});
        const info = await replica.info('replication');
        return info.includes('master_link_status:up') ? true : undefined;
      });

      const linkedMs = Date.now() - t0;
      for (const [i, host] of a.sentinels.entries()) {
        const dir = join(runDir, `s${i + 1}`);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'sentinel.conf'), sentinelConfig(host, dir, masterHost, this.timing));
        pids.push(
          ctx.procs.spawn({
            command: '/usr/bin/redis-sentinel',
            args: [join(dir, 'sentinel.conf')],
            logFile: join(dir, 'sentinel.log'),
          }).pid!,
        );
      }
      const sentinels = a.sentinels.map((host) => plain(host, 26379));
      connections.push(...sentinels);
      // Before the fault every sentinel must know the replica and both other sentinels, else a
      // failover cannot happen at all (discovery runs on 2 s hello messages).
      for (const [i, s] of sentinels.entries()) {
        await waitFor(
          `sentinel ${a.sentinels[i]} sees the replica and 2 other sentinels`,
          30_000,
          async () => {
            if (s.status !== 'ready') await s.connect().catch(() => {});
            const peers = (await s.call('SENTINEL', 'sentinels', MASTER_NAME)) as unknown[];
            const replicas = (await s.call('SENTINEL', 'replicas', MASTER_NAME)) as string[][];
            const linked = replicas.some((r) => r.includes(replicaHost) && !r.join(' ').includes('s_down'));
            return peers.length === 2 && linked ? true : undefined;
          },
          250,
        );
      }
      const agreedMs = Date.now() - t0;
      // Every sentinel's events, each on its own connection (a dead master's events come from the others).
      for (const host of a.sentinels) {
        const sub = plain(host, 26379);
        connections.push(sub);
        await sub.connect();
        sub.on('pmessage', (_pattern: string, channel: string, message: string) => {
          events.push({ atMs: wallNow(), sentinel: `${host}:26379`, channel, message });
        });
        await sub.psubscribe('*');
      }

      const client = new Redis({
        sentinels: a.sentinels.map((host) => ({ host, port: 26379 })),
        name: MASTER_NAME,
        ...this.timing.client,
      });
      client.on('error', () => {}); // failures are counted per request
      connections.push(client);
      await waitFor('ioredis connected through the sentinels', 20_000, async () =>
        (await client.ping()) === 'PONG' ? true : undefined,
      );
      const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      ctx.log(
        `    Redis pair + 3 sentinels ready in ${sec(Date.now() - t0)} (pair linked ${sec(linkedMs)}, ` +
          `sentinels know each other ${sec(agreedMs)}; master ${masterHost})`,
      );

      let killed: number[] = [];
      let newMaster: string | null = null;
      let faultAt = 0;
      return {
        client: {
          write: async (id) => {
            await client.hincrby('bench:writes', id, 1);
          },
          read: async (lastId) => {
            await client.hget('bench:writes', lastId ?? 'none');
          },
          errorCode: redisErrorCode,
        },
        inject: async () => {
          faultAt = wallNow();
          killed = await ctx.procs.kill([masterPid]);
          return faultAt;
        },
        audit: async (ids) => {
          let address: string[] | null = null;
          for (const s of sentinels) {
            address = (await s.call('SENTINEL', 'get-master-addr-by-name', MASTER_NAME).catch(() => null)) as
              | string[]
              | null;
            if (address) break;
          }
          if (!address) throw new Error('no sentinel names a master');
          newMaster = `${address[0]}:${address[1]}`;
          const direct = plain(address[0]!, Number(address[1]));
          connections.push(direct);
          await direct.connect();
          const all = await direct.hgetall('bench:writes');
          const wanted = new Set(ids);
          return new Map(
            Object.entries(all)
              .filter(([id]) => wanted.has(id))
              .map(([id, n]) => [id, Number(n)]),
          );
        },
        spurious: async () => {
          await sleep(300);
          return sentinelSpuriousFailovers(events, `${masterHost}:6379`);
        },
        details: () => ({
          newMaster,
          killedPids: killed.length,
          // when each sentinel said it: +ms after the fault
          switches: events
            .filter((e) => e.channel === '+switch-master')
            .map((e) => `+${Math.round(e.atMs - faultAt)}ms ${e.sentinel} ${e.message}`),
          tryFailovers: events
            .filter((e) => e.channel === '+try-failover')
            .map((e) => `+${Math.round(e.atMs - faultAt)}ms ${e.sentinel} ${e.message}`),
          events: events.length,
        }),
        close: () => stop(true),
      };
    } catch (err) {
      await stop(false);
      throw err;
    }
  }
}
