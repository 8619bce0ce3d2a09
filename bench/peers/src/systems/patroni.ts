// Patroni 3.0 + etcd 3.4 + HAProxy 2.6 for one PostgreSQL 15 pair, the way Patroni's docs deploy it:
// HAProxy sends clients to whichever node answers 200 on Patroni's REST `/primary`. A fresh cluster
// (own scope in etcd, new data dirs) per configuration; between runs the killed node rejoins.
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { wallNow } from '../load';
import { type PatroniSample, patroniSpuriousFailovers } from '../measure';
import { type OsUser, postgresUser, postmasterPid } from '../procs';
import { getJson, newSecret, sleep, waitFor } from '../util';
import type { BenchContext, ConfigName, PreparedRun, SystemUnderTest } from './types';

const PG_BIN = '/usr/lib/postgresql/15/bin';

interface PatroniTiming {
  ttl: number;
  loopWait: number;
  retryTimeout: number;
  /** HAProxy health check: interval, failures to mark down, successes to mark up */
  check: { inter: string; fall: number; rise: number };
  synchronousMode: boolean;
}

// Patroni's own defaults (ttl 30, loop_wait 10, retry_timeout 10, asynchronous replication) and
// HAProxy's (inter 2s, fall 3, rise 2).
const DEFAULTS: PatroniTiming = {
  ttl: 30,
  loopWait: 10,
  retryTimeout: 10,
  check: { inter: '2s', fall: 3, rise: 2 },
  synchronousMode: false,
};

// A lease as short as Patroni's rule allows (loop_wait + 2 × retry_timeout ≤ ttl, with equality), a
// fast health check, and synchronous_mode for the same no-loss guarantee as the project's payments
// pair. Patroni's current docs give 20 s as ttl's minimum; bookworm's 3.0.2 honours 10 s.
const TUNED: PatroniTiming = {
  ttl: 10,
  loopWait: 2,
  retryTimeout: 4,
  check: { inter: '500ms', fall: 2, rise: 1 },
  synchronousMode: true,
};

interface Addresses {
  etcd: string;
  haproxy: { host: string; port: number };
  nodes: { name: 'pg1' | 'pg2'; host: string }[];
}

function addresses(subnet: number): Addresses {
  return {
    etcd: `127.${subnet}.100.1`,
    haproxy: { host: `127.${subnet}.100.2`, port: 5000 },
    nodes: [
      { name: 'pg1', host: `127.${subnet}.101.1` },
      { name: 'pg2', host: `127.${subnet}.102.1` },
    ],
  };
}

export function patroniYaml(opts: {
  scope: string;
  name: string;
  host: string;
  etcd: string;
  dir: string;
  timing: PatroniTiming;
  passwords: { superuser: string; replication: string };
}): string {
  const { timing } = opts;
  // JSON is valid YAML, and JSON.stringify quotes every string safely.
  return JSON.stringify(
    {
      scope: opts.scope,
      namespace: '/service/',
      name: opts.name,
      restapi: { listen: `${opts.host}:8008`, connect_address: `${opts.host}:8008` },
      etcd3: { hosts: `${opts.etcd}:2379` },
      bootstrap: {
        dcs: {
          ttl: timing.ttl,
          loop_wait: timing.loopWait,
          retry_timeout: timing.retryTimeout,
          synchronous_mode: timing.synchronousMode,
          postgresql: { use_pg_rewind: true, parameters: { wal_log_hints: 'on' } },
        },
        initdb: [{ encoding: 'UTF8' }],
        pg_hba: [
          'local all all peer',
          'host replication replicator 127.0.0.0/8 scram-sha-256',
          'host all all 127.0.0.0/8 scram-sha-256',
        ],
      },
      postgresql: {
        listen: `${opts.host}:5432`,
        connect_address: `${opts.host}:5432`,
        data_dir: join(opts.dir, 'data'),
        bin_dir: PG_BIN,
        pgpass: join(opts.dir, 'pgpass'),
        authentication: {
          superuser: { username: 'postgres', password: opts.passwords.superuser },
          replication: { username: 'replicator', password: opts.passwords.replication },
        },
        // two servers on one port need their own socket dirs
        parameters: { unix_socket_directories: opts.dir },
      },
    },
    null,
    2,
  );
}

export function haproxyConfig(a: Addresses, timing: PatroniTiming): string {
  const { inter, fall, rise } = timing.check;
  return [
    'global',
    '  maxconn 2000',
    'defaults',
    '  mode tcp',
    '  retries 2',
    '  timeout connect 4s',
    '  timeout client 30m',
    '  timeout server 30m',
    '  timeout check 5s',
    'listen primary',
    `  bind ${a.haproxy.host}:${a.haproxy.port}`,
    // Patroni's documented check: 200 from /primary only on the node holding the leader lock
    '  option httpchk GET /primary',
    '  http-check expect status 200',
    `  default-server inter ${inter} fall ${fall} rise ${rise} on-marked-down shutdown-sessions`,
    ...a.nodes.map((n) => `  server ${n.name} ${n.host}:5432 check addr ${n.host} port 8008`),
    '',
  ].join('\n');
}

interface ClusterView {
  members?: { name: string; role: string; state: string; timeline?: number; lag?: number | string }[];
}

async function cluster(host: string): Promise<ClusterView | undefined> {
  const { status, body } = await getJson(`http://${host}:8008/cluster`, { timeoutMs: 1_000 });
  return status === 200 ? (body as ClusterView) : undefined;
}

function sample(view: ClusterView | undefined): PatroniSample {
  const members = view?.members ?? [];
  const leader = members.find((m) => m.role === 'leader' || m.role === 'standby_leader');
  const timelines = members.map((m) => m.timeline).filter((t): t is number => typeof t === 'number');
  return {
    atMs: wallNow(),
    leader: leader?.name ?? null,
    timeline: timelines.length ? Math.max(...timelines) : null,
  };
}

function pgErrorCode(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string') return e.code === '25006' ? '25006 read-only transaction' : e.code;
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (/terminated unexpectedly|Connection terminated/i.test(message)) return 'CONNECTION_TERMINATED';
  if (/timeout/i.test(message)) return 'PG_TIMEOUT';
  return message.slice(0, 60);
}

export class PatroniSystem implements SystemUnderTest {
  readonly system = 'patroni' as const;
  readonly settings: string;
  readonly maxAfterFaultMs: number;
  private readonly timing: PatroniTiming;
  private etcdPid: number | undefined;
  private pgUser: OsUser | undefined;
  private cluster: Cluster | undefined;

  constructor(readonly config: ConfigName) {
    this.timing = config === 'tuned' ? TUNED : DEFAULTS;
    const t = this.timing;
    this.settings =
      `ttl ${t.ttl}, loop_wait ${t.loopWait}, retry_timeout ${t.retryTimeout}, ` +
      `${t.synchronousMode ? 'synchronous_mode on' : 'asynchronous replication'}; ` +
      `HAProxy inter ${t.check.inter} fall ${t.check.fall} rise ${t.check.rise}` +
      (config === 'default' ? ' (Patroni and HAProxy defaults)' : '');
    // the lease alone is ttl; retry_timeout and the check cadence come on top
    this.maxAfterFaultMs = (t.ttl + t.loopWait + t.retryTimeout) * 1000 + 30_000;
  }

  async prepare(ctx: BenchContext): Promise<void> {
    const a = addresses(ctx.subnet);
    this.pgUser = postgresUser();
    const dir = join(ctx.procs.root, `etcd-${this.config}`);
    mkdirSync(dir, { recursive: true });
    const url = (port: number) => `http://${a.etcd}:${port}`;
    // One etcd member: the DCS is not what is faulted here; a production cluster runs three.
    this.etcdPid = ctx.procs.spawn({
      command: '/usr/bin/etcd',
      args: [
        '--name=e1',
        `--data-dir=${join(dir, 'data')}`,
        `--listen-client-urls=${url(2379)}`,
        `--advertise-client-urls=${url(2379)}`,
        `--listen-peer-urls=${url(2380)}`,
        `--initial-advertise-peer-urls=${url(2380)}`,
        `--initial-cluster=e1=${url(2380)}`,
        '--initial-cluster-state=new',
      ],
      logFile: join(dir, 'etcd.log'),
    }).pid;
    await waitFor('etcd health', 20_000, async () => {
      const { status } = await getJson(`${url(2379)}/health`, { timeoutMs: 1_000 });
      return status === 200 ? true : undefined;
    });
    ctx.log(`  etcd up on ${a.etcd}:2379`);
  }

  async finish(ctx: BenchContext): Promise<void> {
    if (this.cluster) await this.teardown(ctx, this.cluster, true);
    if (this.etcdPid) await ctx.procs.kill([this.etcdPid]);
    this.etcdPid = undefined;
  }

  private async teardown(ctx: BenchContext, c: Cluster, removeDir: boolean) {
    this.cluster = undefined;
    const postmasters = c.nodes.map((n) => postmasterPid(join(n.dir, 'data'))).filter((p) => p !== undefined);
    await ctx.procs.kill([...c.nodes.map((n) => n.pid), c.haproxyPid, ...postmasters].filter((p) => p > 0));
    if (removeDir && !ctx.keepState) rmSync(c.dir, { recursive: true, force: true });
  }

  private startNode(ctx: BenchContext, c: Cluster, node: ClusterNode) {
    node.pid = ctx.procs.spawn({
      command: '/usr/bin/patroni',
      args: [join(c.dir, `${node.name}.yml`)],
      logFile: join(c.dir, `${node.name}.log`),
      runAs: this.pgUser!,
      env: { PATH: process.env.PATH, LANG: 'C.UTF-8', HOME: node.dir },
    }).pid!;
  }

  /** A superuser connection straight to one node (never through HAProxy). */
  private direct(c: Cluster, host: string) {
    return new pg.Client({
      host,
      port: 5432,
      user: 'postgres',
      password: c.passwords.superuser,
      database: 'postgres',
    });
  }

  /**
   * The replica's own walreceiver as the leader sees it, by application_name (pg_basebackup's
   * walsender also reads "streaming" while it clones; Patroni creates the replica's slot a loop
   * later), synchronous when tuned, and replayed past `sinceLsn` when given.
   */
  private async streaming(c: Cluster, leader: ClusterNode, replica: ClusterNode, sinceLsn?: string) {
    const client = this.direct(c, leader.host);
    await client.connect();
    try {
      const { rows } = await client.query<{ state: string; sync_state: string; caught_up: boolean }>(
        `SELECT state, sync_state, replay_lsn >= coalesce($2::pg_lsn, '0/0') AS caught_up
           FROM pg_stat_replication WHERE application_name = $1`,
        [replica.name, sinceLsn ?? null],
      );
      const ok = rows.some(
        (r) =>
          r.state === 'streaming' && r.caught_up && (!this.timing.synchronousMode || r.sync_state === 'sync'),
      );
      return ok ? true : undefined;
    } finally {
      await client.end();
    }
  }

  /** A new cluster: its own scope in etcd, fresh data dirs, HAProxy in front, the table created. */
  private async bootstrap(ctx: BenchContext, run: number): Promise<Cluster> {
    const a = addresses(ctx.subnet);
    const user = this.pgUser!;
    const dir = join(ctx.procs.root, `patroni-${this.config}-${run}`);
    mkdirSync(dir, { recursive: true });
    const c: Cluster = {
      dir,
      scope: `bench-${this.config}-${run}-${Date.now().toString(36)}`,
      passwords: { superuser: newSecret(), replication: newSecret() },
      nodes: a.nodes.map((n) => ({ ...n, dir: join(dir, n.name), pid: 0 })),
      haproxyPid: 0,
      killed: undefined,
    };
    this.cluster = c;
    for (const node of c.nodes) {
      mkdirSync(node.dir, { mode: 0o700 });
      chownSync(node.dir, user.uid, user.gid);
      const file = join(dir, `${node.name}.yml`);
      const yaml = patroniYaml({
        scope: c.scope,
        name: node.name,
        host: node.host,
        etcd: a.etcd,
        dir: node.dir,
        timing: this.timing,
        passwords: c.passwords,
      });
      writeFileSync(file, yaml, { mode: 0o600 });
      chownSync(file, user.uid, user.gid);
    }
    const [first, second] = c.nodes as [ClusterNode, ClusterNode];
    const t0 = Date.now();
    // The first node bootstraps alone, so it is the leader; the second then clones it at once
    // instead of waiting a loop_wait to find a leader.
    this.startNode(ctx, c, first);
    await waitFor(
      `${first.name} leader (see ${dir})`,
      120_000,
      async () => {
        const { status } = await getJson(`http://${first.host}:8008/primary`, { timeoutMs: 1_000 });
        return status === 200 ? true : undefined;
      },
      200,
    );
    const leaderMs = Date.now() - t0;
    this.startNode(ctx, c, second);
    await waitFor(`${second.name} streaming`, 120_000, () => this.streaming(c, first, second), 250);
    const replicaMs = Date.now() - t0;
    writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(a, this.timing));
    c.haproxyPid = ctx.procs.spawn({
      command: '/usr/sbin/haproxy',
      args: ['-db', '-f', join(dir, 'haproxy.cfg')],
      logFile: join(dir, 'haproxy.log'),
    }).pid!;
    const client = this.direct(c, first.host);
    await client.connect();
    try {
      // No unique constraint on purpose: a retried write that had been applied shows up twice.
      await client.query(
        'CREATE TABLE bench_writes (seq bigserial PRIMARY KEY, id text NOT NULL, at timestamptz NOT NULL DEFAULT now()); CREATE INDEX ON bench_writes (id)',
      );
      const { rows } = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      await waitFor(
        `${second.name} past the table`,
        30_000,
        () => this.streaming(c, first, second, rows[0]!.lsn),
        100,
      );
    } finally {
      await client.end();
    }
    const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    ctx.log(
      `    new cluster ${c.scope} in ${sec(Date.now() - t0)} (${first.name} leader after ${sec(leaderMs)}, ` +
        `${second.name} streaming after ${sec(replicaMs)})`,
    );
    return c;
  }

  /**
   * The node the last run killed comes back as a replica of the new leader: Patroni restarted on its
   * data dir rewinds it (use_pg_rewind) and follows. Much cheaper than a new cluster on a busy machine
   * (no initdb, no clone, one Patroni start instead of two), and what an operator does anyway.
   */
  private async rejoin(ctx: BenchContext, c: Cluster): Promise<void> {
    const node = c.killed!;
    const leaderName = sample(await cluster(c.nodes.find((n) => n !== node)!.host)).leader;
    const leader = c.nodes.find((n) => n.name === leaderName);
    if (!leader || leader === node) throw new Error(`no other leader to rejoin (${leaderName})`);
    const t0 = Date.now();
    this.startNode(ctx, c, node);
    await waitFor(
      `${node.name} back as a replica of ${leader.name}`,
      120_000,
      () => this.streaming(c, leader, node),
      250,
    );
    c.killed = undefined;
    ctx.log(
      `    ${node.name} rejoined as a replica of ${leader.name} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }

  async startRun(ctx: BenchContext, run: number): Promise<PreparedRun> {
    const a = addresses(ctx.subnet);
    let c = this.cluster;
    try {
      if (c?.killed) await this.rejoin(ctx, c);
    } catch (err) {
      ctx.log(`    rejoin failed (${(err as Error).message}); starting a new cluster`);
      await this.teardown(ctx, c!, false);
      c = undefined;
    }
    try {
      c ??= await this.bootstrap(ctx, run);
    } catch (err) {
      if (this.cluster) await this.teardown(ctx, this.cluster, false);
      throw err;
    }
    const cl = c;
    const pool = new pg.Pool({
      host: a.haproxy.host,
      port: a.haproxy.port,
      user: 'postgres',
      password: cl.passwords.superuser,
      database: 'postgres',
      // below max_connections (100); a queue in the pool would only add to the outage
      max: 50,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 10_000,
    });
    pool.on('error', () => {}); // an idle connection dying with its server is expected here
    let monitor: NodeJS.Timeout | undefined;
    const samples: PatroniSample[] = [];
    try {
      await waitFor(
        'HAProxy routing to the primary',
        30_000,
        async () => {
          const { rows } = await pool.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
          return rows[0]?.r === false ? true : undefined;
        },
        200,
      );
      const initial = sample(await cluster(cl.nodes[0]!.host));
      const primary = cl.nodes.find((n) => n.name === initial.leader);
      const survivor = cl.nodes.find((n) => n !== primary)!;
      if (!primary || initial.timeline === null)
        throw new Error(`no leader before the fault: ${JSON.stringify(initial)}`);
      ctx.log(
        `    leader ${primary.name} (timeline ${initial.timeline}), replica ${survivor.name} streaming`,
      );
      samples.push(initial);
      // Poll the survivor's view of the DCS: leader changes and timelines show every promotion.
      monitor = setInterval(() => {
        cluster(survivor.host)
          .then((view) => view && samples.push(sample(view)))
          .catch(() => {});
      }, 250);

      let killed: number[] = [];
      let newLeader: string | null = null;
      return {
        client: {
          write: async (id) => {
            await pool.query('INSERT INTO bench_writes (id) VALUES ($1)', [id]);
          },
          read: async (lastId) => {
            await pool.query('SELECT count(*) FROM bench_writes WHERE id = $1', [lastId ?? '']);
          },
          errorCode: pgErrorCode,
        },
        inject: async () => {
          const postmaster = postmasterPid(join(primary.dir, 'data'));
          if (!postmaster) throw new Error('the primary has no running postmaster');
          const at = wallNow();
          // Patroni and the Postgres it started (detached from it) die together, backends included.
          killed = await ctx.procs.kill([primary.pid, postmaster]);
          cl.killed = primary;
          return at;
        },
        audit: async (ids) => {
          const view = await cluster(survivor.host);
          newLeader = sample(view).leader;
          const host = cl.nodes.find((n) => n.name === newLeader)?.host;
          if (!host) throw new Error(`no leader to audit: ${JSON.stringify(view)}`);
          const client = this.direct(cl, host);
          await client.connect();
          try {
            const { rows } = await client.query<{ id: string; n: number }>(
              'SELECT id, count(*)::int AS n FROM bench_writes WHERE id = ANY($1) GROUP BY id',
              [ids],
            );
            return new Map(rows.map((r) => [r.id, r.n]));
          } finally {
            await client.end();
          }
        },
        spurious: async () => {
          // one last look after the load, in case a second promotion came at the very end
          await sleep(300);
          const view = await cluster(survivor.host).catch(() => undefined);
          if (view) samples.push(sample(view));
          return patroniSpuriousFailovers(samples, initial.timeline!);
        },
        details: () => ({
          scope: cl.scope,
          killedLeader: primary.name,
          newLeader,
          killedPids: killed.length,
          initialTimeline: initial.timeline,
          finalTimeline: samples.at(-1)?.timeline ?? null,
          leaderSeen: [...new Set(samples.map((s) => s.leader))],
        }),
        close: async () => {
          clearInterval(monitor);
          await pool.end().catch(() => {});
        },
      };
    } catch (err) {
      clearInterval(monitor);
      await pool.end().catch(() => {});
      // a cluster that could not serve this run is not trusted with the next one
      await this.teardown(ctx, cl, false);
      throw err;
    }
  }
}

interface ClusterNode {
  name: 'pg1' | 'pg2';
  host: string;
  dir: string;
  /** its Patroni process (0 = not started) */
  pid: number;
}

/** One Patroni cluster, kept across the runs of a configuration. */
interface Cluster {
  dir: string;
  scope: string;
  passwords: { superuser: string; replication: string };
  nodes: ClusterNode[];
  haproxyPid: number;
  /** the leader the last run killed, to bring back before the next */
  killed: ClusterNode | undefined;
}
