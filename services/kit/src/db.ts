// Postgres access: pool settings, transactions with an explicit durability level, and migrations.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPLICATION_MODE, type ServiceName, SYNC_COMMITS_OF } from '@failover-lab/contracts';
import { trace } from '@opentelemetry/api';
import pg from 'pg';
import {
  assertTransactionBeforeDeadline,
  commitBoundMs,
  currentDeadlineMs,
  deadlineExceededAtCommit,
} from './deadline';
import { inSpan } from './tracing';

export type SynchronousCommit = 'on' | 'local' | 'remote_apply' | 'off';

/**
 * A service's own writes, as durable as its replication mode says: a sync service's commit is
 * acknowledged only once the synchronous standby has it; an async one commits locally.
 */
export function commitFor(service: ServiceName): { synchronousCommit: SynchronousCommit } {
  return { synchronousCommit: REPLICATION_MODE[service] === 'sync' ? 'on' : 'local' };
}

/**
 * A revocation (sign-out, family revocation, refresh rotation) waits for the standby wherever the
 * service keeps one for them (SYNC_COMMITS_OF): committed only locally, it could be missing on the
 * promoted standby, and the token it revoked would work again there.
 */
export function revocationCommitFor(service: ServiceName): { synchronousCommit: SynchronousCommit } {
  return { synchronousCommit: SYNC_COMMITS_OF[service] === 'none' ? 'local' : 'on' };
}

export interface PoolOptions {
  max?: number;
  statementTimeoutMs?: number;
  /** how long an idle connection is kept (default 10 s; 0: for good) */
  idleTimeoutMs?: number;
}

/**
 * The app's pool. Timeouts keep a dead or frozen Postgres from pinning every request forever:
 * connect fails after 2 s, statements after 5 s server-side. (A synchronous COMMIT waiting for a
 * lost standby is not bounded by statement_timeout — docs/facts.md, "A synchronous commit without
 * its standby" — the controller drops the standby.)
 */
export function createPool(databaseUrl: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    connectionTimeoutMillis: 2_000,
    idleTimeoutMillis: options.idleTimeoutMs ?? 10_000,
    statement_timeout: options.statementTimeoutMs ?? 5_000,
    idle_in_transaction_session_timeout: 10_000,
    application_name: 'cell-app',
  });
  // An idle client losing its server (failover, kill) must not crash the process.
  pool.on('error', () => {});
  return pool;
}

/**
 * Opens the pool's missing connections. A standby's app serves nothing (the router sends its traffic to
 * the primary), so left alone its pool is empty; the requests the router held through a failover then
 * arrive at the just-promoted cell all at once, and each waited for a connection of its own (a backend
 * fork and a SCRAM exchange on a machine busy with the promotion): the first answers came 0.35-0.65 s
 * after the route flipped. Sessions opened during recovery carry over the promotion and take writes
 * after it. Not awaited: a request that comes first queues in the pool for the next one to open.
 */
export function warmPool(pool: pg.Pool): void {
  const missing = (pool.options.max ?? 10) - pool.totalCount;
  for (let i = 0; i < missing; i++) {
    pool
      .connect()
      .then((client) => client.release())
      .catch(() => {});
  }
}

const tracer = trace.getTracer('failover-lab/cell-kit');

/** A transaction's span: its error recorded, the durability it asked for as an attribute. */
const inTransactionSpan = <T>(options: { synchronousCommit: SynchronousCommit }, fn: () => Promise<T>) =>
  inSpan(tracer, 'db.transaction', (span) => {
    span.setAttribute('db.system', 'postgresql');
    span.setAttribute('db.synchronous_commit', options.synchronousCommit);
    return fn();
  });

/**
 * Checks a client out of the pool for `fn`. A checked-out client has no pool listener, and pg emits a
 * lost connection (server killed, failed over) as an 'error' event on it: unheard, that crashes the
 * process. Here it is heard; the next query rejects, the request fails like any other lost-database
 * request, and the client is discarded instead of returned. `fn` may call `discard()` itself.
 */
export async function withClient<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient, discard: () => void) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  const discard = () => {
    broken = true;
  };
  client.on('error', discard);
  try {
    return await fn(client, discard);
  } finally {
    client.removeListener('error', discard);
    client.release(broken);
  }
}

/**
 * Runs fn inside BEGIN … COMMIT with `SET LOCAL synchronous_commit`, so each transaction states
 * how durable it must be (payments 'on': acknowledged only once the sync standby has it).
 * Right before COMMIT it checks the current request's x-request-deadline (deadline.ts): a
 * transaction that outlived the router's patience — say its process was frozen mid-request — is
 * rolled back with DEADLINE_EXCEEDED instead of committing after another region took over. The same
 * deadline goes to Postgres (`SET LOCAL failover_lab.deadline_ms`), whose commit guard checks it again
 * when COMMIT arrives: a process frozen between its own check and the COMMIT cannot commit late. A
 * write the cell accepted under a lease (bindLease) is bound by that lease as well, read right before
 * COMMIT: whichever runs out first is what the guard checks. The rest of the deadline is also the
 * transaction's lock_timeout, and a request whose deadline passed while it waited for a connection
 * does not begin at all.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  options: { synchronousCommit: SynchronousCommit },
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return inTransactionSpan(options, () =>
    withClient(pool, async (client, discard) => {
      // A request that used up its deadline waiting for a connection gives up before any lock.
      assertTransactionBeforeDeadline();
      try {
        // One round trip (simple protocol). The level is from a closed set and the deadline an
        // integer parsed from its header (deadline.ts), so neither is user text. lock_timeout is
        // what is left of the deadline: a request that cannot commit in time anyway stops waiting
        // for a hot row then, instead of taking the lock, doing its work while the rows stay
        // locked and failing at COMMIT. Behind a burst (the requests held during a failover) those
        // doomed holders are what kept the queue from draining.
        const deadlineMs = currentDeadlineMs();
        const guard =
          deadlineMs === undefined
            ? ''
            : `; SET LOCAL failover_lab.deadline_ms TO '${deadlineMs}'; SET LOCAL lock_timeout TO ${Math.max(1, Math.ceil(deadlineMs - Date.now()))}`;
        await client.query(`BEGIN; SET LOCAL synchronous_commit TO ${options.synchronousCommit}${guard}`);
        let result: T;
        try {
          result = await fn(client);
        } catch (err) {
          throw deadlineMs !== undefined && (err as { code?: string }).code === LOCK_TIMEOUT_SQLSTATE
            ? deadlineExceededAtCommit(err)
            : err;
        }
        assertTransactionBeforeDeadline(); // throws → ROLLBACK below
        // The cell's lease may run out before the deadline: the guard then checks the lease
        // (same round trip as COMMIT; an integer, not user text).
        const bound = commitBoundMs();
        const rebound =
          bound !== undefined && deadlineMs !== undefined && bound < deadlineMs
            ? `SET LOCAL failover_lab.deadline_ms TO '${bound}'; `
            : '';
        try {
          await client.query(`${rebound}COMMIT`);
        } catch (err) {
          throw (err as { code?: string }).code === COMMIT_GUARD_SQLSTATE
            ? deadlineExceededAtCommit(err)
            : err;
        }
        return result;
      } catch (err) {
        // the connection is gone if ROLLBACK fails: do not return it to the pool
        await client.query('ROLLBACK').catch(discard);
        throw err;
      }
    }),
  );
}

/**
 * A whole transaction in one round trip, for rows so hot that a lock held across a round trip to
 * this process costs the service its write rate: `sql` CALLs a procedure (outside any transaction
 * block) whose first three parameters are what withTransaction would SET LOCAL — synchronous_commit,
 * the request's commit bound (unix ms, text, for the commit guard: the deadline, or the cell's lease
 * when that runs out first) and the rest of it as lock_timeout (ms)
 * — the last two NULL without a deadline; the procedure does its work and COMMITs itself, so its locks
 * are released inside Postgres. The same deadline rules as withTransaction: not begun once the deadline
 * passed, and the commit guard or the lock timeout answer DEADLINE_EXCEEDED. Returns the CALL's row
 * (the procedure's INOUT parameters).
 */
export async function callTransaction<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  options: { synchronousCommit: SynchronousCommit },
  sql: string,
  values: unknown[],
): Promise<R> {
  return inTransactionSpan(options, () =>
    withClient(pool, async (client) => {
      const deadlineMs = currentDeadlineMs();
      for (let attempt = 1; ; attempt++) {
        assertTransactionBeforeDeadline();
        // The commit is one trip away, so the lease is read now: whichever of it and the deadline
        // runs out first is what the procedure's COMMIT is checked against (withTransaction reads it
        // right before its COMMIT).
        const bound = commitBoundMs();
        const settings =
          deadlineMs === undefined || bound === undefined
            ? [options.synchronousCommit, null, null]
            : [options.synchronousCommit, String(bound), Math.max(1, Math.ceil(bound - Date.now()))];
        try {
          const { rows } = await client.query<R>(sql, [...settings, ...values]);
          return rows[0]!;
        } catch (err) {
          const code = (err as { code?: string }).code;
          const outOfTime =
            code === COMMIT_GUARD_SQLSTATE || (deadlineMs !== undefined && code === LOCK_TIMEOUT_SQLSTATE);
          if (!outOfTime) throw err;
          // Nothing committed (the lock timeout aborts the CALL, the guard refuses its COMMIT). When it
          // was the lease, not the deadline, that ran out, and the router has renewed the lease while
          // the CALL waited (a hot row held by a commit stuck on a cut replication link waits out
          // sync.syncStallMs, longer than the lab's lease), the request still has time: try again
          // under the new lease instead of failing a write the deadline allows. Bounded, and never
          // past the deadline or a lease that was not renewed.
          if (
            attempt < MAX_LEASE_RETRIES &&
            bound !== undefined &&
            deadlineMs !== undefined &&
            bound < deadlineMs &&
            leaseRenewedSince(bound)
          ) {
            continue;
          }
          throw deadlineExceededAtCommit(err);
        }
      }
    }),
  );
}

/** At most this many CALLs per request when each ran out of lease (not of deadline) and it was renewed. */
const MAX_LEASE_RETRIES = 8;

/** The lease now reaches past `bound` and past now: a CALL bound by it has room again. */
function leaseRenewedSince(bound: number): boolean {
  const next = commitBoundMs();
  return next !== undefined && next > bound && next > Date.now();
}

const MIGRATION_FILE = /^\d{3}_[a-z0-9_]+\.sql$/;

async function migrationFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => MIGRATION_FILE.test(f)).sort();
}

/** The names schema_migrations records once every file of `sets` is applied (`<namespace>/<file>`). */
export async function migrationNames(sets: { namespace: string; dir: string }[]): Promise<string[]> {
  return (
    await Promise.all(
      sets.map(async ({ namespace, dir }) => (await migrationFiles(dir)).map((f) => `${namespace}/${f}`)),
    )
  ).flat();
}

/**
 * Applies NNN_name.sql files in order, each once, recorded in schema_migrations under
 * `<namespace>/<file>`. One transaction under an advisory lock, so two app processes starting at
 * once cannot both apply. Committed with synchronous_commit=local: a missing standby must not hang
 * a start. Callers skip this on a standby (read-only).
 */
export async function applyMigrations(
  pool: pg.Pool,
  sets: { namespace: string; dir: string }[],
): Promise<string[]> {
  // Nearly always every file is applied already (at a restart, and at a promotion: the schema came by
  // replication): one read says so without a transaction, a lock or DDL.
  const wanted = await migrationNames(sets);
  const recorded = await pool
    .query<{ name: string }>('SELECT name FROM schema_migrations')
    .then((r) => new Set(r.rows.map((row) => row.name)))
    .catch(() => null); // no table yet (a fresh database): the full path below creates it
  if (recorded && wanted.every((name) => recorded.has(name))) return [];
  return withTransaction(pool, { synchronousCommit: 'local' }, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('failover-lab/schema_migrations'))`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         name text PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const done = new Set(
      (await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name),
    );
    const applied: string[] = [];
    for (const { namespace, dir } of sets) {
      for (const file of await migrationFiles(dir)) {
        const name = `${namespace}/${file}`;
        if (done.has(name)) continue;
        await client.query(await readFile(join(dir, file), 'utf8'));
        await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [name]);
        applied.push(name);
      }
    }
    // every table, the service's new ones included, gets the commit guard (kit/001_commit_guard.sql)
    const guard = await client.query(
      `SELECT to_regprocedure('failover_attach_commit_guard()') IS NOT NULL AS ok`,
    );
    if (guard.rows[0]?.ok) await client.query('SELECT failover_attach_commit_guard()');
    return applied;
  });
}

/** Raised by the commit guard (migrations/001_commit_guard.sql): the deadline passed before COMMIT. */
export const COMMIT_GUARD_SQLSTATE = 'FL001';

/** lock_not_available: a lock wait outlived lock_timeout, which withTransaction sets to the deadline. */
export const LOCK_TIMEOUT_SQLSTATE = '55P03';

/** SQLSTATEs that mean "this node cannot take writes right now". */
export const READ_ONLY_SQLSTATE = '25006';

/** SQLSTATEs / errno codes that mean the database is unreachable rather than the request wrong. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (!e || typeof e !== 'object') return false;
  if (
    e.code &&
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(e.code)
  )
    return true;
  // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 08xxx connection exceptions
  if (e.code && (/^08/.test(e.code) || ['57P01', '57P02', '57P03', '53300'].includes(e.code))) return true;
  // "not queryable": pg's answer on a client whose connection already failed (server gone mid-transaction)
  return /Connection terminated|timeout exceeded when trying to connect|connection timeout|not queryable/i.test(
    e.message ?? '',
  );
}
