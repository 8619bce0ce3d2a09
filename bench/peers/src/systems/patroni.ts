// Patroni 3.0 + etcd 3.4 + HAProxy 2.6 for one PostgreSQL 15 pair, the way Patroni's docs deploy it:
// HAProxy sends clients to whichever node answers 200 on Patroni's REST `/primary`. A fresh cluster
// (own scope in etcd, new data dirs) for every run, so no run inherits another's timeline or lag.
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

// The tightest timing Patroni accepts (ttl ≥ loop_wait + 2 × retry_timeout), a fast health check,
// and synchronous_mode for the same no-loss guarantee as the project's payments pair.
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
    if (this.etcdPid) await ctx.procs.kill([this.etcdPid]);
    this.etcdPid = undefined;
  }

  async startRun(ctx: BenchContext, run: number): Promise<PreparedRun> {
    const a = addresses(ctx.subnet);
    const user = this.pgUser!;
    const runDir = join(ctx.procs.root, `patroni-${this.config}-${run}`);
    mkdirSync(runDir, { recursive: true });
    const passwords = { superuser: newSecret(), replication: newSecret() };
    const scope = `bench-${this.config}-${run}-${Date.now().toString(36)}`;
    const nodes = a.nodes.map((n) => ({ ...n, dir: join(runDir, n.name), pid: 0 }));
    const leaders: number[] = [];
    let pool: pg.Pool | undefined;
    let monitor: NodeJS.Timeout | undefined;
    const samples: PatroniSample[] = [];

    // a failed start keeps its logs for the caller to copy; the whole root goes at the end anyway
    const stop = async (removeDir: boolean) => {
      if (monitor) clearInterval(monitor);
      await pool?.end().catch(() => {});
      const postmasters = nodes.map((n) => postmasterPid(join(n.dir, 'data'))).filter((p) => p !== undefined);
      await ctx.procs.kill([...leaders, ...postmasters]);
      if (removeDir && !ctx.keepState) rmSync(runDir, { recursive: true, force: true });
    };

    try {
      for (const node of nodes) {
        mkdirSync(node.dir, { mode: 0o700 });
        chownSync(node.dir, user.uid, user.gid);
        const file = join(runDir, `${node.name}.yml`);
        const yaml = patroniYaml({
          scope,
          name: node.name,
          host: node.host,
          etcd: a.etcd,
          dir: node.dir,
          timing: this.timing,
          passwords,
        });
        writeFileSync(file, yaml, { mode: 0o600 });
        chownSync(file, user.uid, user.gid);
      }
      const startNode = (node: (typeof nodes)[number]) => {
        node.pid = ctx.procs.spawn({
          command: '/usr/bin/patroni',
          args: [join(runDir, `${node.name}.yml`)],
          logFile: join(runDir, `${node.name}.log`),
          runAs: user,
          env: { PATH: process.env.PATH, LANG: 'C.UTF-8', HOME: node.dir },
        }).pid!;
        leaders.push(node.pid);
      };
      const t0 = Date.now();
      const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      // The first node bootstraps alone, so it is the leader; the second then clones it at once
      // instead of waiting a loop_wait to find a leader.
      startNode(nodes[0]!);
      await waitFor(
        `${nodes[0]!.name} leader (see ${runDir})`,
        60_000,
        async () => {
          const { status } = await getJson(`http://${nodes[0]!.host}:8008/primary`, { timeoutMs: 1_000 });
          return status === 200 ? true : undefined;
        },
        200,
      );
      const leaderMs = Date.now() - t0;
      startNode(nodes[1]!);
      const superuser = (host: string) =>
        new pg.Client({
          host,
          port: 5432,
          user: 'postgres',
          password: passwords.superuser,
          database: 'postgres',
        });
      // The replica's own walreceiver, by its application_name: pg_basebackup's walsender also shows
      // as "streaming" while it clones, and Patroni creates the replica's slot a loop later.
      const replicaStreaming = async (sinceLsn?: string) => {
        const client = superuser(nodes[0]!.host);
        await client.connect();
        try {
          const { rows } = await client.query<{ state: string; sync_state: string; caught_up: boolean }>(
            `SELECT state, sync_state, replay_lsn >= coalesce($2::pg_lsn, '0/0') AS caught_up
               FROM pg_stat_replication WHERE application_name = $1`,
            [nodes[1]!.name, sinceLsn ?? null],
          );
          const ok = rows.some(
            (r) =>
              r.state === 'streaming' &&
              r.caught_up &&
              (!this.timing.synchronousMode || r.sync_state === 'sync'),
          );
          return ok ? true : undefined;
        } finally {
          await client.end();
        }
      };
      const replicaLabel = `${nodes[1]!.name} streaming${this.timing.synchronousMode ? ' synchronously' : ''}`;
      await waitFor(replicaLabel, 90_000, () => replicaStreaming(), 250);
      const replicaMs = Date.now() - t0;
      writeFileSync(join(runDir, 'haproxy.cfg'), haproxyConfig(a, this.timing));
      leaders.push(
        ctx.procs.spawn({
          command: '/usr/sbin/haproxy',
          args: ['-db', '-f', join(runDir, 'haproxy.cfg')],
          logFile: join(runDir, 'haproxy.log'),
        }).pid!,
      );
      pool = new pg.Pool({
        host: a.haproxy.host,
        port: a.haproxy.port,
        user: 'postgres',
        password: passwords.superuser,
        database: 'postgres',
        // below max_connections (100); a queue in the pool would only add to the outage
        max: 50,
        connectionTimeoutMillis: 5_000,
        idleTimeoutMillis: 10_000,
      });
      pool.on('error', () => {}); // an idle connection dying with its server is expected here
      const p = pool;
      await waitFor(
        'HAProxy routing to the primary',
        30_000,
        async () => {
          const { rows } = await p.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
          return rows[0]?.r === false ? true : undefined;
        },
        200,
      );
      // No unique constraint on purpose: a retried write that had been applied shows up twice.
      await p.query(
        'CREATE TABLE bench_writes (seq bigserial PRIMARY KEY, id text NOT NULL, at timestamptz NOT NULL DEFAULT now()); CREATE INDEX ON bench_writes (id)',
      );
      // the table is on the replica too before anything is measured
      const { rows: lsn } = await p.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      await waitFor(`${replicaLabel} past the table`, 30_000, () => replicaStreaming(lsn[0]!.lsn), 100);
      const initial = sample(await cluster(nodes[0]!.host));
      if (initial.leader !== nodes[0]!.name || initial.timeline === null) {
        throw new Error(`unexpected cluster before the fault: ${JSON.stringify(initial)}`);
      }
      ctx.log(
        `    cluster ${scope} ready in ${sec(Date.now() - t0)} (pg1 leader after ${sec(leaderMs)}, ` +
          `pg2 streaming after ${sec(replicaMs)}; timeline ${initial.timeline})`,
      );
      samples.push(initial);
      // Poll the survivor's view of the DCS: leader changes and timelines show every promotion.
      monitor = setInterval(() => {
        cluster(nodes[1]!.host)
          .then((view) => view && samples.push(sample(view)))
          .catch(() => {});
      }, 250);

      let killed: number[] = [];
      let newLeader: string | null = null;
      return {
        client: {
          write: async (id) => {
            await p.query('INSERT INTO bench_writes (id) VALUES ($1)', [id]);
          },
          read: async (lastId) => {
            await p.query('SELECT count(*) FROM bench_writes WHERE id = $1', [lastId ?? '']);
          },
          errorCode: pgErrorCode,
        },
        inject: async () => {
          const primary = nodes[0]!;
          const postmaster = postmasterPid(join(primary.dir, 'data'));
          if (!postmaster) throw new Error('the primary has no running postmaster');
          const at = wallNow();
          // Patroni and the Postgres it started (detached from it) die together, backends included.
          killed = await ctx.procs.kill([primary.pid, postmaster]);
          return at;
        },
        audit: async (ids) => {
          const view = await cluster(nodes[1]!.host);
          newLeader = sample(view).leader;
          const host = nodes.find((n) => n.name === newLeader)?.host;
          if (!host) throw new Error(`no leader to audit: ${JSON.stringify(view)}`);
          const client = superuser(host);
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
          const view = await cluster(nodes[1]!.host).catch(() => undefined);
          if (view) samples.push(sample(view));
          return patroniSpuriousFailovers(samples, initial.timeline!);
        },
        details: () => ({
          scope,
          newLeader,
          killedPids: killed.length,
          initialTimeline: initial.timeline,
          finalTimeline: samples.at(-1)?.timeline ?? null,
          leaderSeen: [...new Set(samples.map((s) => s.leader))],
        }),
        close: () => stop(true),
      };
    } catch (err) {
      await stop(false);
      throw err;
    }
  }
}
