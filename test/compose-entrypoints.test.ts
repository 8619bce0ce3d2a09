// The compose data-store entrypoints (infra/compose/postgres, infra/compose/redis) run here against
// real PostgreSQL 15 and Redis 7 on loopback — no Docker: the scripts' container-only steps
// (gosu, the official docker-entrypoint.sh) are swapped through RUN_AS / NEXT_ENTRYPOINT, everything
// else (initdb script, pg_basebackup with slot, standby settings, pg_rewind of an old primary,
// Redis role choice) is the code the containers would run.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { leaseSubnet } from '@failover-lab/lab/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkKeysSpec } from '../infra/compose/src/compose-file';
import { repoPath } from './helpers/repo';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const HAVE_PG = existsSync(join(PG_BIN, 'postgres')) && spawnSync('id', ['-u', 'postgres']).status === 0;
const HAVE_REDIS = spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;
const PATH = `${PG_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
const PG_UID = HAVE_PG ? Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })) : 0;
const PG_GID = HAVE_PG ? Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) : 0;
// leased, not only random: a lab test of another run may hold the same 127.<subnet>.x.y addresses
const subnetLease = await leaseSubnet();
const SUBNET = subnetLease.subnet;
/** the compose env file's POSTGRES_PASSWORD: the superuser needs it on the socket too */
const SUPERUSER_PASSWORD = `pg-${Math.random().toString(36).slice(2)}`;
/** the compose env file's REDIS_PASSWORD (requirepass and masterauth) */
const REDIS_PASSWORD = `redis-${Math.random().toString(36).slice(2)}`;

/** a forked transfer's key: quotes, a backslash, a dollar and a colon are data, not SQL or shell */
const FORKED_KEY = `k-forked-'"\\$x:1`;

const started: ChildProcess[] = [];
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'compose-entrypoints-'));
  chmodSync(root, 0o755); // the postgres user must be able to enter
});

afterAll(() => {
  for (const child of started) {
    try {
      process.kill(-child.pid!, 'SIGKILL'); // the whole group: postmaster and every backend
    } catch {
      // already gone
    }
  }
  rmSync(root, { recursive: true, force: true });
  subnetLease.release();
}, 60_000); // removing data dirs on a busy disk takes more than the default 10 s

function startPostgres(name: string, dataDir: string, host: string): ChildProcess {
  const socketDir = join(root, `sock-${name}`);
  mkdirSync(socketDir, { recursive: true });
  chownSync(socketDir, PG_UID, PG_GID);
  const log = openSync(join(root, `${name}.log`), 'a');
  const child = spawn(
    join(PG_BIN, 'postgres'),
    [
      '-D',
      dataDir,
      // everything else comes from the data dir's postgresql.conf, as in the container
      '-c',
      `listen_addresses=${host}`,
      '-c',
      'port=5432',
      '-c',
      `unix_socket_directories=${socketDir}`,
    ],
    { uid: PG_UID, gid: PG_GID, detached: true, stdio: ['ignore', log, log], env: { PATH } },
  );
  started.push(child);
  return child;
}

/** SIGKILL the postmaster and all its children (docs/facts.md, "Killing a postmaster"). */
function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // already gone
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}: ${String(lastError)}`);
}

/** One query as the superuser over the node's unix socket (scram there too: with its password). */
async function sql<R extends pg.QueryResultRow>(
  name: string,
  text: string,
  database = 'postgres',
  password = SUPERUSER_PASSWORD,
): Promise<R[]> {
  const client = new pg.Client({
    host: join(root, `sock-${name}`),
    port: 5432,
    user: 'postgres',
    password,
    database,
  });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

/** Statements one after another in one session (ALTER SYSTEM cannot share a transaction). */
async function sqlSession(name: string, statements: string[]): Promise<void> {
  const client = new pg.Client({
    host: join(root, `sock-${name}`),
    port: 5432,
    user: 'postgres',
    password: SUPERUSER_PASSWORD,
    database: 'postgres',
  });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

const waitReady = (name: string) =>
  waitFor(`${name} to accept queries`, async () => (await sql(name, 'SELECT 1')).length || undefined);

function runEntrypoint(env: Record<string, string>): { status: number | null; output: string } {
  const result = spawnSync(
    'bash',
    [repoPath('infra', 'compose', 'postgres', 'postgres-entrypoint.sh'), 'postgres'],
    {
      env: {
        PATH,
        RUN_AS: `runuser -u postgres -- env PATH=${PATH}`,
        FAILOVER_LAB_EXEC: 'true', // stop where the container would exec postgres
        ...env,
      },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe.skipIf(!HAVE_PG)('postgres entrypoint (real PostgreSQL 15, no Docker)', () => {
  const primaryHost = `127.${SUBNET}.1.2`;
  const standbyHost = `127.${SUBNET}.2.2`;
  const replicatorPassword = `repl-${Math.random().toString(36).slice(2)}`;
  const appPassword = `app-${Math.random().toString(36).slice(2)}`;
  let primaryDir: string;
  let standbyDir: string;
  let primary: ChildProcess;
  let standby: ChildProcess;

  it('a fresh payments primary: initdb, shared settings in postgresql.conf, roles, grants, pg_hba, sync standby name', async () => {
    // the container's volume is the postgres home; the data dir is data/ inside it
    primaryDir = join(root, 'dc-a', 'data');
    const result = runEntrypoint({
      PGDATA: primaryDir,
      FAILOVER_LAB_REGION: 'dc-a',
      FAILOVER_LAB_PEER_HOST: `127.${SUBNET}.9.9`, // no peer yet: dc-a is the first primary
      FAILOVER_LAB_BOOTSTRAP_ROLE: 'primary',
      FAILOVER_LAB_SOCKET_DIR: join(root, 'sock-dc-a'),
      REPLICATOR_PASSWORD: replicatorPassword,
      POSTGRES_PASSWORD: SUPERUSER_PASSWORD,
      POSTGRES_DB: 'payments',
      APP_DB_PASSWORD: appPassword,
      FAILOVER_LAB_SYNC_STANDBY: 'dc-b',
    });
    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain('initdb');
    // pg_rewind's single-user crash recovery reads only the data dir's config: wal_log_hints must be there
    expect(readFileSync(join(primaryDir, 'postgresql.conf'), 'utf8')).toMatch(/^wal_log_hints = on$/m);
    primary = startPostgres('dc-a', primaryDir, primaryHost);
    await waitReady('dc-a');

    // function privileges are per database: checked in the app's own, where it calls them
    const [roles] = await sql<{ owner: string; monitor: boolean; promote: boolean; repl: boolean }>(
      'dc-a',
      `SELECT (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'payments') AS owner,
              pg_has_role('app', 'pg_monitor', 'member') AS monitor,
              has_function_privilege('app', 'pg_promote(boolean, integer)', 'execute') AS promote,
              (SELECT rolreplication FROM pg_roles WHERE rolname = 'replicator') AS repl`,
      'payments',
    );
    expect(roles).toEqual({ owner: 'app', monitor: true, promote: true, repl: true });
    const [sync] = await sql<{ synchronous_standby_names: string }>('dc-a', 'SHOW synchronous_standby_names');
    expect(sync!.synchronous_standby_names).toBe('"dc-b"');

    // the app connects over the network with its password; the superuser never does
    const app = new pg.Client({
      host: primaryHost,
      port: 5432,
      user: 'app',
      password: appPassword,
      database: 'payments',
    });
    await app.connect();
    await app.end();
    const superuser = new pg.Client({
      host: primaryHost,
      port: 5432,
      user: 'postgres',
      password: 'anything',
      database: 'postgres',
    });
    await expect(superuser.connect()).rejects.toThrow(/pg_hba\.conf rejects/);
    // no trust anywhere: on the node's own socket the superuser needs its password as well
    await expect(sql('dc-a', 'SELECT 1', 'postgres', 'wrong')).rejects.toThrow(
      /password authentication failed/,
    );
    const hba = readFileSync(join(primaryDir, 'pg_hba.conf'), 'utf8');
    expect(hba).not.toMatch(/\btrust\b/);
    expect(hba).toMatch(/^local all all scram-sha-256$/m);
  });

  it('an empty dc-b data dir becomes a streaming standby: slot dc_b, application_name dc-b, sync', async () => {
    standbyDir = join(root, 'dc-b', 'data');
    const result = runEntrypoint({
      PGDATA: standbyDir,
      FAILOVER_LAB_REGION: 'dc-b',
      FAILOVER_LAB_PEER_HOST: primaryHost,
      FAILOVER_LAB_BOOTSTRAP_ROLE: 'standby',
      REPLICATOR_PASSWORD: replicatorPassword,
    });
    expect(result.status, result.output).toBe(0);
    expect(existsSync(join(standbyDir, 'standby.signal'))).toBe(true);
    const autoConf = readFileSync(join(standbyDir, 'postgresql.auto.conf'), 'utf8');
    expect(autoConf).toContain('application_name=dc-b');
    expect(autoConf).toContain("primary_slot_name = 'dc_b'");
    expect(autoConf).not.toContain(replicatorPassword); // the password lives in the 0600 passfile only
    // … beside the data dir, on the volume: a recreated container (new layer) still finds it
    const passfile = join(root, 'dc-b', '.pgpass');
    expect(autoConf).toContain(`passfile=${passfile}`);
    expect(readFileSync(passfile, 'utf8')).toContain(replicatorPassword);
    expect(statSync(passfile).mode & 0o777).toBe(0o600);

    standby = startPostgres('dc-b', standbyDir, standbyHost);
    await waitReady('dc-b');
    // sync_state reads "async" for a moment after the walsender starts streaming, until dc-b has
    // flushed something: wait for "sync" (it never comes if the standby name did not match).
    const replica = await waitFor('dc-b to stream as the synchronous standby', async () => {
      const rows = await sql<{ application_name: string; state: string; sync_state: string }>(
        'dc-a',
        'SELECT application_name, state, sync_state FROM pg_stat_replication',
      );
      return rows.find((r) => r.state === 'streaming' && r.sync_state === 'sync');
    });
    expect(replica).toEqual({ application_name: 'dc-b', state: 'streaming', sync_state: 'sync' });
    const [slot] = await sql<{ slot_name: string; active: boolean }>(
      'dc-a',
      'SELECT slot_name, active FROM pg_replication_slots',
    );
    expect(slot).toEqual({ slot_name: 'dc_b', active: true });

    // a synchronous commit on the primary returns (the standby acknowledges) and is readable on dc-b
    await sql('dc-a', "CREATE TABLE t (v text); INSERT INTO t VALUES ('before-failover')", 'payments');
    // the table and key the quarantine compares by (FORK_KEYS), owned by app as the migrations make it
    await sql(
      'dc-a',
      `CREATE TABLE transfers (idempotency_key text PRIMARY KEY, amount int NOT NULL);
       ALTER TABLE transfers OWNER TO app;
       INSERT INTO transfers VALUES ('k-before', 1)`,
      'payments',
    );
    const [row] = await waitFor('the row on dc-b', async () => {
      const rows = await sql<{ v: string }>('dc-b', 'SELECT v FROM t', 'payments').catch(() => []);
      return rows.length > 0 ? rows : undefined;
    });
    expect(row!.v).toBe('before-failover');
  });

  it('a killed old primary that comes back (docker start) quarantines its forked rows, rewinds and rejoins as standby of dc-b', async () => {
    await sql('dc-b', 'SELECT pg_promote(true, 30)');
    // the old primary diverges: local-only commits the new primary never saw, then the fire. The
    // forked key carries quotes, a backslash and a dollar: it is data, never part of a statement.
    await sql(
      'dc-a',
      `SET synchronous_commit = local; INSERT INTO t VALUES ('diverged-on-old-primary');
       INSERT INTO transfers VALUES (${pg.escapeLiteral(FORKED_KEY)}, 7)`,
      'payments',
    );
    killGroup(primary);
    await sql('dc-b', "INSERT INTO t VALUES ('after-failover')", 'payments');
    await sql('dc-b', "INSERT INTO transfers VALUES ('k-after-failover', 2)", 'payments');
    await waitFor('the old postmaster to be gone', async () =>
      existsSync(join(primaryDir, 'postmaster.pid')) && isAlive(primary.pid!) ? undefined : true,
    );

    const result = runEntrypoint({
      PGDATA: primaryDir,
      FAILOVER_LAB_REGION: 'dc-a',
      FAILOVER_LAB_PEER_HOST: standbyHost,
      FAILOVER_LAB_BOOTSTRAP_ROLE: 'primary',
      REPLICATOR_PASSWORD: replicatorPassword,
      POSTGRES_PASSWORD: SUPERUSER_PASSWORD,
      POSTGRES_DB: 'payments',
      APP_DB_PASSWORD: appPassword,
      FAILOVER_LAB_FORK_KEYS: forkKeysSpec('payments'),
    });
    expect(result.status, result.output).toBe(0);
    // read before the rewind: exactly the transfer only the old primary holds, in the lab's format
    const quarantine = join(root, 'dc-a', 'quarantine');
    const [file, ...more] = readdirSync(quarantine);
    expect(more).toEqual([]);
    expect(file).toMatch(/^payments-dc-a-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.jsonl$/);
    expect(result.output).toMatch(
      new RegExp(
        `read privately in \\d+ s: 1 forked row\\(s\\) quarantined in ${join(quarantine, file!)} \\(transfers 1\\)`,
      ),
    );
    expect(statSync(join(quarantine, file!)).mode & 0o777).toBe(0o600);
    const lines = readFileSync(join(quarantine, file!), 'utf8').trim().split('\n');
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      {
        service: 'payments',
        table: 'transfers',
        key: FORKED_KEY,
        row: { idempotency_key: FORKED_KEY, amount: 7 },
      },
    ]);
    for (const secret of [SUPERUSER_PASSWORD, appPassword, replicatorPassword])
      expect(result.output).not.toContain(secret);
    expect(result.output).toContain('rewinding');
    expect(result.output).toContain('rewound from'); // not the full base backup fallback
    expect(result.output).not.toContain('pg_rewind failed');
    expect(existsSync(join(primaryDir, 'standby.signal'))).toBe(true);

    primary = startPostgres('dc-a', primaryDir, primaryHost);
    await waitReady('dc-a');
    const [{ in_recovery }] = (await sql<{ in_recovery: boolean }>(
      'dc-a',
      'SELECT pg_is_in_recovery() AS in_recovery',
    )) as [{ in_recovery: boolean }];
    expect(in_recovery).toBe(true);
    const streaming = await waitFor('dc-a to stream from dc-b', async () => {
      const rows = await sql<{ application_name: string; state: string }>(
        'dc-b',
        'SELECT application_name, state FROM pg_stat_replication',
      );
      return rows.find((r) => r.application_name === 'dc-a' && r.state === 'streaming');
    });
    expect(streaming).toBeDefined();
    const values = await waitFor('after-failover on dc-a', async () => {
      const rows = (await sql<{ v: string }>('dc-a', 'SELECT v FROM t ORDER BY v', 'payments')).map(
        (r) => r.v,
      );
      return rows.includes('after-failover') ? rows : undefined;
    });
    expect(values).toEqual(['after-failover', 'before-failover']); // the diverged commit is gone
  });

  it('a primary-region node that lost its disk (empty data dir, primary peer) clones instead of initdb', async () => {
    killGroup(primary); // dc-a dies again, this time with its volume
    await waitFor('dc-b to notice (slot dc_a inactive)', async () => {
      const rows = await sql<{ active: boolean }>(
        'dc-b',
        "SELECT active FROM pg_replication_slots WHERE slot_name = 'dc_a'",
      );
      return rows[0]?.active === false ? true : undefined;
    });
    const fresh = join(root, 'dc-a-fresh');
    const result = runEntrypoint({
      PGDATA: fresh,
      FAILOVER_LAB_REGION: 'dc-a',
      FAILOVER_LAB_PEER_HOST: standbyHost, // dc-b is the primary now
      FAILOVER_LAB_BOOTSTRAP_ROLE: 'primary',
      REPLICATOR_PASSWORD: replicatorPassword,
    });
    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain('pg_basebackup');
    expect(existsSync(join(fresh, 'standby.signal'))).toBe(true);
  });

  // freeze dc-a -> failover to dc-b -> thaw dc-a -> kill dc-b's Postgres -> `docker start` dc-b: the
  // thawed old primary is alive and out of recovery too; rebuilding the newer node from it would
  // delete every write since the failover. Here the clone above plays the newer node.
  it('a newer primary that comes back beside a fenced, thawed old primary keeps its data (never rewound from it)', async () => {
    const fresh = join(root, 'dc-a-fresh');
    primary = startPostgres('dc-a', fresh, primaryHost);
    await waitReady('dc-a');
    await sql('dc-a', 'SELECT pg_promote(true, 30)'); // dc-a's clone is the new primary (timeline 3)
    await sql('dc-a', "INSERT INTO t VALUES ('acked-on-new-primary')", 'payments');
    // dc-b, the old primary, still runs out of recovery (thawed); the router's fence reached it
    await sqlSession('dc-b', [
      // PostgreSQL 15's ALTER SYSTEM takes a custom setting only once the session knows it (fence.ts)
      "SET failover_lab.fenced_epoch = ''",
      "ALTER SYSTEM SET failover_lab.fenced_epoch = '2'",
      'SELECT pg_reload_conf()',
    ]);
    killGroup(primary);
    await waitFor('the new primary to be gone', async () => (isAlive(primary.pid!) ? undefined : true));

    const env = {
      PGDATA: fresh,
      FAILOVER_LAB_REGION: 'dc-a',
      FAILOVER_LAB_PEER_HOST: standbyHost,
      FAILOVER_LAB_BOOTSTRAP_ROLE: 'primary',
      REPLICATOR_PASSWORD: replicatorPassword,
    };
    const result = runEntrypoint(env);
    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain('keep: the peer is fenced (epoch 2)');
    expect(result.output).not.toContain('rewinding');
    expect(existsSync(join(fresh, 'standby.signal'))).toBe(false);
    primary = startPostgres('dc-a', fresh, primaryHost);
    await waitReady('dc-a');
    const rows = (await sql<{ v: string }>('dc-a', 'SELECT v FROM t', 'payments')).map((r) => r.v);
    expect(rows).toContain('acked-on-new-primary');

    // Without the fence marker nothing says which of two unfenced primaries is the right one, and the
    // peer is not newer: refuse, never guess.
    await sqlSession('dc-b', ['ALTER SYSTEM RESET failover_lab.fenced_epoch', 'SELECT pg_reload_conf()']);
    killGroup(primary);
    await waitFor('the new primary to be gone again', async () => (isAlive(primary.pid!) ? undefined : true));
    const refused = runEntrypoint(env);
    expect(refused.status, refused.output).not.toBe(0);
    expect(refused.output).toMatch(
      /refuse: the peer is an unfenced primary on timeline 2 and this node is one on timeline 3/,
    );
    expect(existsSync(join(fresh, 'standby.signal'))).toBe(false);
  });

  it('messaging active-active: initdb with wal_level logical, started as it is beside an unfenced primary, the other topology refused', async () => {
    const aaHost = `127.${SUBNET}.1.5`;
    const dir = join(root, 'aa', 'data');
    const env = {
      PGDATA: dir,
      FAILOVER_LAB_REGION: 'dc-b',
      FAILOVER_LAB_PEER_HOST: aaHost,
      FAILOVER_LAB_BOOTSTRAP_ROLE: 'standby', // what the compose file says for dc-b; active-active overrides it
      FAILOVER_LAB_TOPOLOGY: 'active-active',
      // not a subscription: the background subscriber gives up at once (this test has no migrations)
      FAILOVER_LAB_SUBSCRIPTION_SQL: 'none',
      FAILOVER_LAB_SOCKET_DIR: join(root, 'sock-aa'),
      REPLICATOR_PASSWORD: replicatorPassword,
      POSTGRES_PASSWORD: SUPERUSER_PASSWORD,
      POSTGRES_DB: 'messaging',
      APP_DB_PASSWORD: appPassword,
      FAILOVER_LAB_SYNC_STANDBY: '',
    };
    const fresh = runEntrypoint(env);
    expect(fresh.status, fresh.output).toBe(0);
    expect(fresh.output).toContain('initdb'); // a dc-b node, but never a base backup: it is a primary
    expect(readFileSync(join(dir, 'postgresql.conf'), 'utf8')).toMatch(/^wal_level = logical$/m);
    expect(readFileSync(join(root, 'aa', 'topology'), 'utf8').trim()).toBe('active-active');
    // the subscription's replication password: in a 0600 passfile of the postgres user
    const passfile = join(root, 'aa', '.pgpass');
    expect(statSync(passfile).mode & 0o777).toBe(0o600);
    expect(readFileSync(passfile, 'utf8')).toBe(`${aaHost}:5432:*:replicator:${replicatorPassword}\n`);
    const node = startPostgres('aa', dir, aaHost);
    try {
      await waitReady('aa');
      const [level] = await sql<{ wal_level: string }>('aa', 'SHOW wal_level');
      expect(level!.wal_level).toBe('logical');
      // a restored region beside a primary that answers (here: itself, unfenced, out of recovery):
      // active-passive would rewind or refuse; active-active starts as it is, its tail intact
      const again = runEntrypoint(env);
      expect(again.status, again.output).toBe(0);
      expect(again.output).not.toMatch(/rewind|refuse|pg_basebackup|initdb/);
      expect(existsSync(join(dir, 'standby.signal'))).toBe(false);
      const other = runEntrypoint({ ...env, FAILOVER_LAB_TOPOLOGY: 'active-passive' });
      expect(other.status, other.output).not.toBe(0);
      expect(other.output).toMatch(/this volume's data is active-active; it cannot start active-passive/);
      const bad = runEntrypoint({ ...env, FAILOVER_LAB_TOPOLOGY: 'both' });
      expect(bad.status).not.toBe(0);
      expect(bad.output).toMatch(/must be active-passive or active-active/);
    } finally {
      killGroup(node);
    }
  });

  afterAll(() => {
    for (const child of [primary, standby]) if (child) killGroup(child);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!HAVE_REDIS)('redis entrypoint (real Redis, no Docker)', () => {
  const masterHost = `127.${SUBNET}.1.3`;
  const replicaHost = `127.${SUBNET}.2.3`;

  /** the password in a config file, as in the containers: never on redis-server's command line */
  const testConf = () => {
    const file = join(root, 'redis-test.conf');
    writeFileSync(file, `requirepass ${REDIS_PASSWORD}\nmasterauth ${REDIS_PASSWORD}\n`, { mode: 0o600 });
    return file;
  };
  const cliEnv = { ...process.env, REDISCLI_AUTH: REDIS_PASSWORD };

  function startRedis(host: string, extra: string[] = []): ChildProcess {
    const child = spawn(
      'redis-server',
      [
        testConf(),
        '--bind',
        host,
        '--port',
        '6379',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        root,
        '--dbfilename',
        `${host}.rdb`,
        ...extra,
      ],
      { detached: true, stdio: 'ignore' },
    );
    started.push(child);
    return child;
  }
  const ping = (host: string) =>
    waitFor(`redis at ${host}`, async () =>
      spawnSync('redis-cli', ['-h', host, '-p', '6379', 'ping'], {
        encoding: 'utf8',
        env: cliEnv,
      }).stdout.trim() === 'PONG'
        ? true
        : undefined,
    );
  /** The command line the entrypoint would exec as the redis user. */
  function decide(role: 'primary' | 'standby', peer: string, topology = 'active-passive'): string {
    const result = spawnSync(
      'sh',
      [repoPath('infra', 'compose', 'redis', 'redis-entrypoint.sh'), 'redis-server'],
      {
        env: {
          PATH: process.env.PATH,
          RUN_AS: 'echo', // print the command the container would exec
          FAILOVER_LAB_PEER_HOST: peer,
          FAILOVER_LAB_BOOTSTRAP_ROLE: role,
          FAILOVER_LAB_TOPOLOGY: topology,
          REDISCLI_AUTH: REDIS_PASSWORD,
          FAILOVER_LAB_REDIS_CONF: CONF,
        },
        encoding: 'utf8',
        timeout: 15_000,
      },
    );
    expect(result.error, 'the entrypoint hung').toBeUndefined();
    expect(result.status, result.stderr).toBe(0);
    return result.stdout.trim();
  }

  beforeAll(async () => {
    startRedis(masterHost);
    await ping(masterHost);
    startRedis(replicaHost, ['--replicaof', masterHost, '6379']);
    await ping(replicaHost);
  });

  const CONF = join(tmpdir(), `compose-entrypoints-redis-${process.pid}-${SUBNET}`, 'redis.conf');
  const SERVER = `redis-server ${CONF}`;
  afterAll(() => rmSync(dirname(CONF), { recursive: true, force: true }));

  it('writes the password into a 0600 config in a 0700 dir of the redis user, never onto the command line', () => {
    const command = decide('standby', masterHost);
    expect(command).not.toContain(REDIS_PASSWORD);
    expect(readFileSync(CONF, 'utf8')).toBe(`requirepass ${REDIS_PASSWORD}\nmasterauth ${REDIS_PASSWORD}\n`);
    const redisUid = Number(execFileSync('id', ['-u', 'redis'], { encoding: 'utf8' }));
    expect(statSync(CONF).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(CONF)).mode & 0o777).toBe(0o700);
    expect(statSync(CONF).uid).toBe(redisUid);
  });

  it('the command it prints runs: a replica that authenticates to its master, refusing clients without the password', async () => {
    const host = `127.${SUBNET}.2.5`;
    const [server, conf, ...rest] = decide('standby', masterHost).split(' ');
    expect([server, conf]).toEqual(['redis-server', CONF]);
    // the conf dir belongs to the redis user; this replica runs as root here, so it reads a copy
    const copy = join(root, 'replica.conf');
    writeFileSync(copy, readFileSync(CONF), { mode: 0o600 });
    const child = spawn(
      'redis-server',
      [
        copy,
        ...rest,
        '--bind',
        host,
        '--port',
        '6379',
        '--save',
        '',
        '--dir',
        root,
        '--dbfilename',
        'r5.rdb',
      ],
      { detached: true, stdio: 'ignore' },
    );
    started.push(child);
    await ping(host);
    const info = await waitFor('the replica linked to its master', async () => {
      const out = spawnSync('redis-cli', ['-h', host, 'INFO', 'replication'], {
        encoding: 'utf8',
        env: cliEnv,
      }).stdout;
      return /master_link_status:up/.test(out) ? out : undefined;
    });
    expect(info).toContain(`master_host:${masterHost}`);
    const anonymous = spawnSync('redis-cli', ['-h', host, 'GET', 'k'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH }, // no REDISCLI_AUTH
    });
    expect(anonymous.stdout + anonymous.stderr).toMatch(/NOAUTH/);
  });

  it('a standby region always starts as a replica of its peer', () => {
    expect(decide('standby', masterHost)).toBe(`${SERVER} --replicaof ${masterHost} 6379`);
    expect(decide('standby', `127.${SUBNET}.9.9`)).toBe(`${SERVER} --replicaof 127.${SUBNET}.9.9 6379`);
  });

  it('a primary region starts as master unless its peer already is one (an old primary coming back)', () => {
    expect(decide('primary', replicaHost)).toBe(SERVER);
    expect(decide('primary', `127.${SUBNET}.9.9`)).toBe(SERVER);
    expect(decide('primary', masterHost)).toBe(`${SERVER} --replicaof ${masterHost} 6379`);
  });

  it('messaging active-active: every region is a master, whatever its bootstrap role or its peer', () => {
    expect(decide('standby', masterHost, 'active-active')).toBe(SERVER);
    expect(decide('primary', masterHost, 'active-active')).toBe(SERVER);
  });

  it('a frozen peer (docker pause) does not hang the start: it counts as unreachable', () => {
    const frozen = startRedis(`127.${SUBNET}.1.4`);
    return ping(`127.${SUBNET}.1.4`).then(() => {
      process.kill(frozen.pid!, 'SIGSTOP');
      try {
        const t0 = Date.now();
        expect(decide('primary', `127.${SUBNET}.1.4`)).toBe(SERVER);
        expect(Date.now() - t0).toBeLessThan(10_000);
      } finally {
        process.kill(frozen.pid!, 'SIGCONT');
      }
    });
  });
});
