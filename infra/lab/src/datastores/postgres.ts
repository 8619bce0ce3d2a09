// One PostgreSQL node of a cell: initdb, start, roles (docs/contracts.md "Data stores"), streaming
// standby (cold: a copy of the primary's initdb; later: pg_basebackup or pg_rewind). The lab supervisor and the test helper both use this module, so tests
// exercise exactly the setup the lab runs.

import type { ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  REPLICATION_MODE,
  type RegionName,
  type ReplicationMode,
  type ServiceName,
} from '@failover-lab/contracts';
import pg from 'pg';
import {
  hasExited,
  type OsUser,
  runAsForPostgres,
  runToCompletion,
  signalFamily,
  sleep,
  spawnGroup,
  waitUntil,
} from '../process';
import { keepsSyncStandbyIn } from '../replication';
import type { LabSecrets } from '../secrets';

export interface PostgresNode {
  service: ServiceName;
  region: RegionName;
  host: string;
  port: number;
  /**
   * where the other region's standby reaches this node when it is primary (the lab: the replication
   * link into this region); absent: `host`
   */
  replicationHost?: string;
  dataDir: string;
  /** 0700, owned by the OS user Postgres runs as: no other local user reaches the socket */
  socketDir: string;
  logFile: string;
  /** the `postgres` superuser's password (scram over the socket; no host rule lets it in over TCP) */
  superuserPassword: string;
  /** logical: the node publishes and subscribes (messaging active-active); default replica */
  walLevel?: 'replica' | 'logical';
}

export type PostgresRole = 'primary' | 'standby';

const SUPPORTED_MAJORS = [17, 16, 15];

/** The newest PostgreSQL ≥ 15 bin dir that has the replication tools the lab needs. */
export function findPostgresBinDir(): string | undefined {
  for (const major of SUPPORTED_MAJORS) {
    const dir = `/usr/lib/postgresql/${major}/bin`;
    if (['postgres', 'initdb', 'pg_basebackup', 'pg_rewind'].every((b) => existsSync(join(dir, b))))
      return dir;
  }
  return undefined;
}

function binary(name: string): string {
  const dir = findPostgresBinDir();
  if (!dir) throw new Error('PostgreSQL 15+ not found: run `npm run lab -- setup`');
  return join(dir, name);
}

/** Physical slot for a standby: named after its region, as an identifier (`dc_b`). */
export const slotName = (standbyRegion: RegionName) => standbyRegion.replace('-', '_');

export function databaseUrl(
  node: Pick<PostgresNode, 'host' | 'port' | 'service'>,
  appPassword: string,
): string {
  return `postgres://app:${appPassword}@${node.host}:${node.port}/${node.service}`;
}

export function isInitialized(node: PostgresNode): boolean {
  return existsSync(join(node.dataDir, 'PG_VERSION'));
}

/**
 * The timeline a data dir is on (pg_controldata: its latest checkpoint's), running or not; null when
 * it has none. A promotion starts a new one, so a node on a higher timeline than another has history
 * the other lacks.
 */
export async function timelineOnDisk(node: PostgresNode): Promise<number | null> {
  if (!isInitialized(node)) return null;
  const out = await runToCompletion(binary('pg_controldata'), ['-D', node.dataDir], {
    runAs: runAsForPostgres(),
    env: { PATH: process.env.PATH, LC_ALL: 'C' },
    timeoutMs: 10_000,
  });
  const match = /^Latest checkpoint's TimeLineID:\s+(\d+)$/m.exec(out);
  return match ? Number(match[1]) : null;
}

/**
 * The fence epoch a cell left in this data dir (`failover_lab.fenced_epoch` in postgresql.auto.conf,
 * docs/fencing.md), or null.
 */
export function fenceEpochOnDisk(node: PostgresNode): number | null {
  const file = join(node.dataDir, 'postgresql.auto.conf');
  if (!existsSync(file)) return null;
  const match = /^failover_lab\.fenced_epoch = '(\d{1,15})'$/m.exec(readFileSync(file, 'utf8'));
  return match ? Number(match[1]) : null;
}

/**
 * At boot: a node whose data dir carries a fence keeps the app role's writes revoked, whatever
 * happened to the grants meanwhile, so no restart undoes a fence. A standby replays its primary's
 * grants and cannot change them (and cannot write anyway). Returns the fence epoch, or null.
 */
export async function enforceFenceOnDisk(node: PostgresNode): Promise<number | null> {
  const epoch = fenceEpochOnDisk(node);
  if (epoch === null || (await isInRecovery(node, 10_000))) return epoch;
  await superuserQuery(
    node,
    `REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public FROM app;
     REVOKE USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA public FROM app`,
    [],
    { database: node.service },
  );
  return epoch;
}

/** What a data dir will come up as: standby.signal decides (a lab that failed over stays so). */
export function roleOnDisk(node: PostgresNode): PostgresRole {
  return existsSync(join(node.dataDir, 'standby.signal')) ? 'standby' : 'primary';
}

function chownTo(path: string, owner: OsUser | undefined) {
  if (owner) chownSync(path, owner.uid, owner.gid);
}

function makeOwnedDir(path: string, mode: number, owner: OsUser | undefined) {
  // recursive mkdir gives every new parent the same mode; parents must stay enterable (0755)
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  mkdirSync(path, { recursive: true, mode });
  chmodSync(path, mode); // an existing dir keeps its old mode otherwise (and mkdir obeys the umask)
  chownTo(path, owner);
}

/** Writes a file Postgres will read (and, for postgresql.auto.conf, rewrite). */
function writeOwnedFile(path: string, content: string, owner: OsUser | undefined) {
  writeFileSync(path, content, { mode: 0o600 });
  chownTo(path, owner);
}

// Every role has a secret, the superuser included: a local user who can reach a socket or a port
// must not get a session (as superuser, `COPY … TO PROGRAM` runs commands as the postgres OS user).
// Clients always appear as 127.0.0.1 on loopback, so host rules cover 127.0.0.0/8. The superuser
// is reachable only through the node's own unix socket (0700), and even there only with its password.
const PG_HBA = `# written by the lab (docs/security.md)
local   all           postgres                   scram-sha-256
local   replication   postgres                   scram-sha-256
host    replication   replicator   127.0.0.0/8   scram-sha-256
# messaging active-active: the other region's subscription (docs/active-active.md)
host    messaging     replicator   127.0.0.0/8   scram-sha-256
host    all           app          127.0.0.0/8   scram-sha-256
`;

/**
 * Runs `work` with a file holding `content` (0600, owned by the Postgres OS user) that it may pass to
 * a tool by path: secrets go to initdb and pg_basebackup this way, never on argv or in the environment
 * (both show in process lists). Removed afterwards.
 */
async function withSecretFile<T>(
  beside: string,
  content: string,
  work: (path: string) => Promise<T>,
): Promise<T> {
  const owner = runAsForPostgres();
  const dir = `${beside}.secret`;
  rmSync(dir, { recursive: true, force: true });
  makeOwnedDir(dir, 0o700, owner);
  const file = join(dir, 'secret');
  writeOwnedFile(file, content, owner);
  try {
    return await work(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * initdb a fresh data dir, with the lab's pg_hba.conf and shared settings (does not start it).
 * initdb, pg_basebackup and pg_rewind run with --no-sync: the data dirs are the lab's own, and an OS
 * crash takes the whole lab with it (`lab down --wipe`, then `up`); the running servers still sync
 * their WAL.
 */
export async function initdb(dataDir: string, superuserPassword: string): Promise<void> {
  const owner = runAsForPostgres();
  rmSync(dataDir, { recursive: true, force: true });
  makeOwnedDir(dataDir, 0o700, owner);
  await withSecretFile(dataDir, `${superuserPassword}\n`, (pwfile) =>
    runToCompletion(
      binary('initdb'),
      [
        ...['-D', dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`],
        ...['--encoding=UTF8', '--locale=C', '--no-sync'],
        // A promotion writes the first WAL segment of its new timeline whole (zero-filled) and fsyncs
        // it: with 16 MB segments that was most of pg_promote after a region kill (docs/facts.md,
        // "Promotion after the primary died"). Standbys inherit the size with the data dir.
        '--wal-segsize=1',
      ],
      { runAs: owner },
    ),
  );
  writeOwnedFile(join(dataDir, 'pg_hba.conf'), PG_HBA, owner);
  appendFileSync(join(dataDir, 'postgresql.conf'), SHARED_CONF);
}

/**
 * A never-started data dir copied to `dataDir` (its postmaster never ran: both begin at the same
 * shutdown checkpoint). Copied beside and renamed, so an interrupted copy never looks initialized.
 */
async function copyDataDir(from: string, dataDir: string) {
  if (existsSync(join(from, 'postmaster.pid'))) throw new Error(`${from} has been started: not copied`);
  const owner = runAsForPostgres();
  const partial = `${dataDir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
  makeOwnedDir(partial, 0o700, owner);
  // as the data dir's owner: cp -a keeps every file's mode and ownership without root's help
  await runToCompletion('cp', ['-a', `${from}/.`, partial], { runAs: owner });
  return {
    commit: () => renameSync(partial, dataDir),
    partial,
  };
}

/**
 * A fresh primary data dir (does not start it): initdb, or a copy of `template`, a data dir initdb
 * made for this lab and never started. One initdb serves every cold primary of an `up`: what initdb
 * writes is the same for all of them (the superuser password is the lab's one `postgresPassword`;
 * roles, passwords, databases and per-node settings come after, per node). The copies share a system
 * identifier, which nothing in the lab relies on to tell services apart (each node's standby, slot
 * and pg_rewind source are named by the lab's own topology).
 */
export async function initPrimary(node: PostgresNode, template?: string): Promise<void> {
  if (!template) return initdb(node.dataDir, node.superuserPassword);
  const copy = await copyDataDir(template, node.dataDir);
  copy.commit();
}

/**
 * Settings every node of a cell pair shares, in the data dir's postgresql.conf (copied by
 * pg_basebackup and pg_rewind): pg_rewind first runs a killed old primary's crash recovery in
 * single-user mode, which reads only this file, not the command line. Without wal_log_hints there,
 * that recovery records it as off and pg_rewind refuses the node (docs/facts.md).
 */
const SHARED_CONF = `
# written by the lab: the same on every node of the cell pair (pg_rewind reads these)
wal_log_hints = on
# pg_rewind reads the old primary's own WAL back to the last checkpoint before the fork; the checkpoint
# that ends its crash recovery would otherwise recycle those segments
wal_keep_size = 128MB
`;

/**
 * Per-node settings go on the command line, never in postgresql.conf: pg_rewind copies the conf
 * files from the source node. The command line also outranks ALTER SYSTEM, so nothing here may be
 * a setting the cells change at runtime (synchronous_standby_names lives in postgresql.auto.conf).
 */
function serverArgs(node: PostgresNode, overrides: Record<string, string> = {}): string[] {
  const settings: Record<string, string> = {
    listen_addresses: node.host,
    port: String(node.port),
    unix_socket_directories: node.socketDir,
    cluster_name: `${node.service}-${node.region}`,
    shared_buffers: '32MB',
    // initdb's own pick on any machine that can run the lab: a standby copied from the initdb data dir
    // (copyInitdbAsStandby) starts from that control file, and a hot standby refuses to run with fewer
    // connections than its primary last recorded. 40 more slots than we use cost ~1 MB of shared memory
    // per node (shared_memory_size 41 MB against 40 MB at 60) and no System V semaphores (Linux builds
    // use POSIX ones inside that shared memory).
    max_connections: '100',
    wal_level: node.walLevel ?? 'replica',
    max_wal_senders: '10',
    max_replication_slots: '10',
    // an inactive slot of a dead standby must not fill the disk
    max_slot_wal_keep_size: '1GB',
    hot_standby: 'on',
    hot_standby_feedback: 'on',
    // for pg_rewind of an old primary later
    wal_log_hints: 'on',
    // promotion after the primary dies waits this long between WAL retries (default 5 s; docs/facts.md,
    // "Promotion after the primary died")
    wal_retrieve_retry_interval: '200ms',
    wal_receiver_status_interval: '1s',
    logging_collector: 'off',
    log_line_prefix: '%m [%p] %q%u@%d ',
    ...overrides,
  };
  return ['-D', node.dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
}

/** Spawns the postmaster as the leader of its own process group (its backends join that group). */
export function startPostgres(node: PostgresNode): ChildProcess {
  const owner = runAsForPostgres();
  makeOwnedDir(node.socketDir, 0o700, owner);
  return spawnGroup({
    command: binary('postgres'),
    args: serverArgs(node),
    logFile: node.logFile,
    runAs: owner,
    env: { PATH: process.env.PATH, LANG: 'C', LC_ALL: 'C' },
  });
}

/**
 * Starts a stopped node where nothing but the caller can reach it, to read it before it is rebuilt:
 * no TCP listen address (no app, router or standby gets in), its socket in a fresh 0700 dir only
 * the caller knows, every session read-only by default. Its data dir is not touched beyond what the
 * server itself does (a killed node's crash recovery runs at this start), so a durable fence in it
 * stays. Answers the node as reachable there (superuserQuery works on it) and its postmaster.
 */
export function startPostgresPrivately(node: PostgresNode): { node: PostgresNode; postmaster: ChildProcess } {
  const owner = runAsForPostgres();
  // in tmpdir: short enough for a unix socket path whatever the state dir's length
  const socketDir = mkdtempSync(join(tmpdir(), 'flab-pgq-'));
  chmodSync(socketDir, 0o700);
  chownTo(socketDir, owner);
  const postmaster = spawnGroup({
    command: binary('postgres'),
    args: serverArgs(node, {
      listen_addresses: '',
      unix_socket_directories: socketDir,
      default_transaction_read_only: 'on',
    }),
    logFile: node.logFile,
    runAs: owner,
    env: { PATH: process.env.PATH, LANG: 'C', LC_ALL: 'C' },
  });
  postmaster.once('exit', () => rmSync(socketDir, { recursive: true, force: true }));
  return { node: { ...node, socketDir }, postmaster };
}

/** Fast shutdown (SIGINT to the postmaster alone: it tells its backends); SIGKILL after timeoutMs. */
export async function stopPostgresFast(postmaster: ChildProcess, timeoutMs = 30_000): Promise<void> {
  if (hasExited(postmaster)) return;
  const exited = new Promise<void>((resolve) => postmaster.once('exit', () => resolve()));
  postmaster.kill('SIGINT');
  const timer = sleep(timeoutMs).then(() => 'late' as const);
  if ((await Promise.race([exited, timer])) !== 'late') return;
  signalFamily(postmaster.pid!, 'SIGKILL');
  await exited;
}

/** A short-lived superuser connection through the node's unix socket. */
export async function superuserQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
  node: PostgresNode,
  sql: string,
  params: unknown[] = [],
  opts: { database?: string; timeoutMs?: number } = {},
): Promise<R[]> {
  return superuserSession(node, opts, async (query) => query<R>(sql, params));
}

type SessionQuery = <R extends pg.QueryResultRow = pg.QueryResultRow>(
  sql: string,
  params?: unknown[],
) => Promise<R[]>;

/**
 * One superuser connection through the node's unix socket for several statements (each its own
 * transaction, as with superuserQuery): a connection is a backend fork and a SCRAM exchange.
 */
export async function superuserSession<T>(
  node: PostgresNode,
  opts: { database?: string; timeoutMs?: number },
  work: (query: SessionQuery) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({
    host: node.socketDir,
    port: node.port,
    user: 'postgres',
    password: node.superuserPassword,
    database: opts.database ?? 'postgres',
    connectionTimeoutMillis: opts.timeoutMs ?? 3_000,
    query_timeout: opts.timeoutMs ?? 10_000,
    // the lab's own writes must never wait on a missing synchronous standby (docs/facts.md)
    options: '-c synchronous_commit=local',
  });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(async (sql, params = []) => (await client.query(sql, params)).rows);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function waitPostgresReady(node: PostgresNode, postmaster?: ChildProcess, timeoutMs = 30_000) {
  await waitUntil(
    `postgres ${node.service}/${node.region} to accept connections (log: ${node.logFile})`,
    async () => {
      await superuserQuery(node, 'SELECT 1', [], { timeoutMs: 1_000 });
      return true;
    },
    timeoutMs,
    50,
    postmaster,
  );
}

export async function isInRecovery(node: PostgresNode, timeoutMs = 2_000): Promise<boolean> {
  const [row] = await superuserQuery<{ r: boolean }>(node, 'SELECT pg_is_in_recovery() AS r', [], {
    timeoutMs,
  });
  return row!.r;
}

/**
 * Roles, database and grants exactly as docs/contracts.md "Data stores". Idempotent.
 * `syncStandby`: the standby region a service with waiting commits (payments: all; login: its
 * revocations; SYNC_COMMITS_OF) names in synchronous_standby_names;
 * undefined when the primary has no standby (a sync commit would otherwise wait forever, docs/facts.md).
 * `mode`: the service's replication in this lab (the sync/async comparison runs payments async).
 */
export async function setupPrimaryRoles(
  node: PostgresNode,
  secrets: LabSecrets,
  syncStandby?: RegionName,
  mode: ReplicationMode = REPLICATION_MODE[node.service],
) {
  // one connection per database (each statement its own transaction, as before): ten connections
  // were ten backend forks and SCRAM exchanges on every cold primary's path
  const syncNames =
    keepsSyncStandbyIn({ ...REPLICATION_MODE, [node.service]: mode }, node.service) && syncStandby
      ? `"${syncStandby}"`
      : '';
  await superuserSession(node, {}, async (query) => {
    await query(
      `DO $$ BEGIN
       IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'replicator') THEN
         CREATE ROLE replicator WITH REPLICATION LOGIN;
       END IF;
       IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app') THEN
         CREATE ROLE app WITH LOGIN;
       END IF;
     END $$`,
    );
    // Passwords are hex (secrets.ts), safe inside a literal.
    await query(`ALTER ROLE replicator PASSWORD '${secrets.replicatorPassword}'`);
    await query(`ALTER ROLE app PASSWORD '${secrets.appPassword}'`);
    const dbs = await query('SELECT 1 FROM pg_database WHERE datname = $1', [node.service]);
    if (dbs.length === 0) await query(`CREATE DATABASE ${node.service} OWNER app`);
    await query(
      // failover_lab.fenced_epoch: the fence marker the cells keep in postgresql.auto.conf (docs/fencing.md)
      `GRANT ALTER SYSTEM ON PARAMETER synchronous_standby_names, failover_lab.fenced_epoch TO app;
       GRANT pg_monitor TO app`,
    );
    await query(`ALTER SYSTEM SET synchronous_standby_names = '${syncNames}'`);
    await query('SELECT pg_reload_conf()');
  });
  // Function privileges live in each database's catalog: grant them where the app connects.
  await superuserQuery(
    node,
    `GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer) TO app;
     GRANT EXECUTE ON FUNCTION pg_reload_conf() TO app`,
    [],
    { database: node.service },
  );
}

/** A physical slot for the standby region, reserving WAL from now on; kept if it exists. */
async function ensureSlot(primary: PostgresNode, standbyRegion: RegionName) {
  await superuserQuery(
    primary,
    `SELECT pg_create_physical_replication_slot($1, true)
      WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`,
    [slotName(standbyRegion)],
  );
}

/** The primary's replication slot for a standby region, recreated empty (the standby starts afresh). */
async function resetSlot(primary: PostgresNode, standbyRegion: RegionName) {
  const slot = slotName(standbyRegion);
  await superuserQuery(
    primary,
    'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active',
    [slot],
  );
}

/**
 * Fresh streaming standby of `primary`: pg_basebackup with a new physical slot named after the
 * standby's region, then our own postgresql.auto.conf (the primary's copy may carry its
 * synchronous_standby_names, which would make a hand-promoted standby hang every sync commit).
 */
export async function createStandby(standby: PostgresNode, primary: PostgresNode, secrets: LabSecrets) {
  const owner = runAsForPostgres();
  await resetSlot(primary, standby.region);
  rmSync(standby.dataDir, { recursive: true, force: true });
  makeOwnedDir(standby.dataDir, 0o700, owner);
  // a pgpass line: host:port:database:user:password (hex passwords need no escaping)
  const source = primary.replicationHost ?? primary.host;
  const pgpass = `${source}:${primary.port}:*:replicator:${secrets.replicatorPassword}\n`;
  await withSecretFile(standby.dataDir, pgpass, (passfile) =>
    runToCompletion(
      binary('pg_basebackup'),
      [
        ...['-h', source, '-p', String(primary.port), '-U', 'replicator', '-D', standby.dataDir],
        ...['-X', 'stream', '--checkpoint=fast', '-S', slotName(standby.region), '-C', '--no-sync'],
        '--no-password',
      ],
      { runAs: owner, env: { PATH: process.env.PATH, PGPASSFILE: passfile }, timeoutMs: 120_000 },
    ),
  );
  followPrimary(standby, primary, secrets);
}

/**
 * An old node rejoins as standby of `primary` by pg_rewind: only what changed since the fork is
 * copied, not the whole cluster. Its rows committed after the fork are discarded (restore quarantines
 * them first). The node must not be running (killed is fine: pg_rewind runs its crash recovery).
 * Throws when pg_rewind cannot (a data dir from before wal_log_hints was in its config, WAL gone):
 * the caller takes a fresh base backup instead.
 */
export async function rewindStandby(standby: PostgresNode, primary: PostgresNode, secrets: LabSecrets) {
  const owner = runAsForPostgres();
  // A just-promoted primary may not have checkpointed yet: its control file would still show the old
  // timeline, and pg_rewind would answer "no rewind required" and leave the fork in place.
  await superuserQuery(primary, 'CHECKPOINT', [], { timeoutMs: 60_000 });
  await resetSlot(primary, standby.region);
  await ensureSlot(primary, standby.region);
  // the superuser over the primary's unix socket (0700, the postgres OS user's): pg_rewind reads files
  // through functions only a superuser may call; the password goes in a passfile, never on argv
  const pgpass = `*:${primary.port}:*:postgres:${primary.superuserPassword}\n`;
  await withSecretFile(standby.dataDir, pgpass, (passfile) =>
    runToCompletion(
      binary('pg_rewind'),
      [
        ...['--target-pgdata', standby.dataDir],
        ...[
          '--source-server',
          `host=${primary.socketDir} port=${primary.port} user=postgres dbname=postgres`,
        ],
        '--no-sync',
      ],
      { runAs: owner, env: { PATH: process.env.PATH, PGPASSFILE: passfile }, timeoutMs: 120_000 },
    ),
  );
  followPrimary(standby, primary, secrets);
}

/** Points a standby data dir at a primary (primary_conninfo, slot, standby.signal). */
export function followPrimary(standby: PostgresNode, primary: PostgresNode, secrets: LabSecrets) {
  const owner = runAsForPostgres();
  const conninfo = [
    `host=${primary.replicationHost ?? primary.host}`,
    `port=${primary.port}`,
    'user=replicator',
    `password=${secrets.replicatorPassword}`,
    `application_name=${standby.region}`,
  ].join(' ');
  writeOwnedFile(
    join(standby.dataDir, 'postgresql.auto.conf'),
    `# written by the lab: ${standby.region} follows ${primary.region}\n` +
      `primary_conninfo = '${conninfo}'\nprimary_slot_name = '${slotName(standby.region)}'\n`,
    owner,
  );
  writeOwnedFile(join(standby.dataDir, 'standby.signal'), '', owner);
}

/**
 * Resolves once the primary reports the standby's WAL receiver as streaming and the standby has
 * sent its first flush position. Until that first reply pg_stat_replication reports even a listed
 * synchronous standby as `async` (Postgres treats an invalid flush location as a pg_basebackup-like
 * client), so returning earlier lets callers see a sync service as async for a few milliseconds.
 */
export async function waitStreaming(primary: PostgresNode, standbyRegion: RegionName, timeoutMs = 30_000) {
  await waitUntil(
    `${primary.service}/${standbyRegion} to stream from ${primary.region}`,
    async () => {
      const rows = await superuserQuery(
        primary,
        `SELECT 1 FROM pg_stat_replication
          WHERE application_name = $1 AND state = 'streaming' AND flush_lsn IS NOT NULL`,
        [standbyRegion],
        { timeoutMs: 1_000 },
      );
      return rows.length > 0;
    },
    timeoutMs,
  );
}

export interface PostgresReplicationInfo {
  role: PostgresRole;
  /** standby: received − replayed WAL bytes; primary: null */
  lagBytes: number | null;
  /** standby: its WAL receiver status (streaming, …, or none); primary: each standby's state */
  replication: string;
}

export async function replicationInfo(
  node: PostgresNode,
  timeoutMs = 1_000,
): Promise<PostgresReplicationInfo> {
  const [row] = await superuserQuery<{ recovery: boolean; lag: string | null; receiver: string | null }>(
    node,
    `SELECT pg_is_in_recovery() AS recovery,
            pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint AS lag,
            (SELECT status FROM pg_stat_wal_receiver) AS receiver`,
    [],
    { timeoutMs },
  );
  if (row!.recovery) {
    return {
      role: 'standby',
      lagBytes: row!.lag === null ? null : Math.max(0, Number(row!.lag)),
      replication: row!.receiver ?? 'not connected',
    };
  }
  const standbys = await superuserQuery<{ application_name: string; state: string; sync_state: string }>(
    node,
    'SELECT application_name, state, sync_state FROM pg_stat_replication ORDER BY application_name',
    [],
    { timeoutMs },
  );
  const replication = standbys.length
    ? standbys.map((s) => `${s.application_name}:${s.state}/${s.sync_state}`).join(',')
    : 'no standby';
  return { role: 'primary', lagBytes: null, replication };
}

/** Called with each postmaster right after spawn, so a caller can track (and clean up) it. */
export type OnStarted = (postmaster: ChildProcess) => void;

/** Told how long each step of a node's cold start took (`up` says it on the node's line). */
export type Timed = (step: string, ms: number) => void;

/** Each call reports the ms since the previous one (or since the stopwatch was made). */
function stopwatch(timed?: Timed) {
  let since = Date.now();
  return (step: string) => {
    const now = Date.now();
    timed?.(step, now - since);
    since = now;
  };
}

/**
 * A cold standby without a base backup: a copy of its primary's data dir taken right after initdb,
 * before the primary's first start, so both begin at the same shutdown checkpoint with the same
 * system identifier, conf files and superuser password. The standby then streams everything the
 * primary writes from its first start on (roles, passwords, databases, the parameter change that
 * records wal_log_hints), through the slot bootstrapPrimary creates. A base backup would have to wait
 * for the primary's roles, then checkpoint and copy the whole cluster over the replication link.
 */
export async function copyInitdbAsStandby(
  standby: PostgresNode,
  primary: PostgresNode,
  secrets: LabSecrets,
  from = primary.dataDir,
) {
  const copy = await copyDataDir(from, standby.dataDir);
  followPrimary({ ...standby, dataDir: copy.partial }, primary, secrets);
  copy.commit();
}

/**
 * Cold start of a primary: initdb (or a copy of `template`'s, see initPrimary), start, wait, roles.
 * With `standby`, that node's data dir is a copy of the same never-started data dir
 * (copyInitdbAsStandby) and the primary gets its slot; start it with startCopiedStandby once this
 * resolves (the replicator role exists then, and the copy is complete). From a template, the standby
 * is copied from the template while the primary starts: the template is what the primary's data dir
 * was before its first start, byte for byte (initPrimary copied it whole, and the template is never
 * started), so the standby begins at the same shutdown checkpoint either way. Without a template the
 * primary's own data dir is the only copy of its initdb, taken before the primary starts.
 */
export async function bootstrapPrimary(
  node: PostgresNode,
  secrets: LabSecrets,
  syncStandby: RegionName | undefined,
  onStarted: OnStarted,
  mode: ReplicationMode = REPLICATION_MODE[node.service],
  opts: { standby?: PostgresNode; template?: () => Promise<string>; timed?: Timed } = {},
) {
  const lap = stopwatch(opts.timed);
  const template = await opts.template?.();
  if (template) lap('initdb');
  const standby = opts.standby;
  let standbyCopy: Promise<void> | undefined;
  try {
    await initPrimary(node, template);
    lap(template ? 'copied' : 'initdb');
    // from the template: while the primary starts and gets its roles (the copy's file creations were
    // most of a cold start's system time); without one: from the primary's data dir, before it starts
    if (standby && template) {
      const copyStarted = Date.now();
      standbyCopy = copyInitdbAsStandby(standby, node, secrets, template).then(() =>
        opts.timed?.('standby copied', Date.now() - copyStarted),
      );
      standbyCopy.catch(() => {}); // awaited below; a failure meanwhile is not an unhandled rejection
    } else if (standby) {
      await copyInitdbAsStandby(standby, node, secrets);
      lap('standby copied');
    }
    const postmaster = startPostgres(node);
    onStarted(postmaster);
    await waitPostgresReady(node, postmaster);
    lap('started');
    await setupPrimaryRoles(node, secrets, syncStandby, mode);
    if (standby) await ensureSlot(node, standby.region);
    lap('roles');
    await standbyCopy;
    return postmaster;
  } finally {
    // a failed start must not leave the copy writing into a data dir the caller is about to clean up
    await standbyCopy?.catch(() => {});
  }
}

/**
 * Starts a standby made by copyInitdbAsStandby; resolves once it streams from its primary and has
 * replayed everything the primary had at that point (its database and roles, which a base backup
 * would have carried from the start).
 */
export async function startCopiedStandby(
  standby: PostgresNode,
  primary: PostgresNode,
  onStarted: OnStarted,
  timed?: Timed,
) {
  const lap = stopwatch(timed);
  const postmaster = startPostgres(standby);
  onStarted(postmaster);
  await waitPostgresReady(standby, postmaster);
  lap('started');
  await waitStreaming(primary, standby.region);
  lap('streaming');
  const [setup] = await superuserQuery<{ lsn: string }>(primary, 'SELECT pg_current_wal_lsn()::text AS lsn');
  const lsn = setup!.lsn;
  await waitUntil(
    `${standby.service}/${standby.region} to replay ${primary.region}'s setup`,
    async () => {
      const [row] = await superuserQuery<{ done: boolean }>(
        standby,
        'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done',
        [lsn],
        { timeoutMs: 1_000 },
      );
      return row?.done === true;
    },
    30_000,
    50,
    postmaster,
  );
  lap('replayed');
  return postmaster;
}

/**
 * A node rejoins as streaming standby of a running primary: an old primary's data dir by pg_rewind,
 * anything else (or a failed rewind) by a fresh base backup. What it took, and why a rewind failed.
 */
export async function rejoinStandby(
  standby: PostgresNode,
  primary: PostgresNode,
  secrets: LabSecrets,
  onStarted: OnStarted,
): Promise<{ how: 'rewound' | 'cloned'; rewindError?: string }> {
  let rewindError: string | undefined;
  // an old primary's data dir; a standby's goes to a base backup (single-user crash recovery, pg_rewind's
  // first step, refuses a data dir in standby mode)
  if (isInitialized(standby) && roleOnDisk(standby) === 'primary') {
    const rewound = await rewindStandby(standby, primary, secrets).then(
      () => true,
      (err: Error) => {
        rewindError = err.message.split('\n')[0];
        return false;
      },
    );
    if (rewound) {
      const postmaster = startPostgres(standby);
      onStarted(postmaster);
      await waitPostgresReady(standby, postmaster);
      await waitStreaming(primary, standby.region);
      return { how: 'rewound' };
    }
  }
  await bootstrapStandby(standby, primary, secrets, onStarted);
  return { how: 'cloned', ...(rewindError ? { rewindError } : {}) };
}

/** Fresh streaming standby of a running primary: base backup, start, wait until streaming. */
export async function bootstrapStandby(
  standby: PostgresNode,
  primary: PostgresNode,
  secrets: LabSecrets,
  onStarted: OnStarted,
) {
  await createStandby(standby, primary, secrets);
  const postmaster = startPostgres(standby);
  onStarted(postmaster);
  await waitPostgresReady(standby, postmaster);
  await waitStreaming(primary, standby.region);
  return postmaster;
}

/** The WAL timeline a primary writes on: after a promotion the promoted node is one ahead. */
export async function currentTimeline(node: PostgresNode): Promise<number> {
  const [row] = await superuserQuery<{ wal: string }>(
    node,
    'SELECT pg_walfile_name(pg_current_wal_lsn()) AS wal',
  );
  return Number.parseInt(row!.wal.slice(0, 8), 16);
}
