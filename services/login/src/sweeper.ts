// Deletes token rows nobody can use any more, so refresh_tokens, revoked_access_tokens and
// session_families do not grow forever. Runs on the writable primary only (its deletes replicate to the
// standby), in short batches, one run at a time.
//
// Why each rule is safe:
// - refresh_tokens: an expired token is refused before anything else is looked at (routes.ts), so
//   its row changes no answer once it is gone.
// - revoked_access_tokens: the row is what refuses a signed-out access token. It must outlive the
//   token, so it goes only after the token's own expires_at (plus the grace margin); the kit's JWT
//   check allows no clock tolerance, so an expired token is refused by signature checking alone.
// - session_families: a family can revoke access tokens too. Every access token is issued together
//   with a refresh token of its family and expires 15 min later, long before that refresh token
//   (30 days), so a family whose refresh tokens are all gone has no live access token left. The age
//   rule (created more than a refresh-token lifetime ago) keeps a just-created family safe whatever
//   the order of inserts.
import { commitFor, READ_ONLY_SQLSTATE, withTransaction } from '@failover-lab/cell-kit';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { SweepSettings } from './settings';
import { REFRESH_TOKEN_TTL_SECONDS } from './tokens';

/** Rows are kept this long past expiry, so a token that expires mid-request (or on a slightly fast clock) is no problem. */
export const SWEEP_GRACE_SECONDS = 60;

export const SWEPT_TABLES = ['refresh_tokens', 'revoked_access_tokens', 'session_families'] as const;
export type SweptTable = (typeof SWEPT_TABLES)[number];
export type SweepCounts = Record<SweptTable, number>;

// $1 = batch size, $2 = minimum age in seconds. SKIP LOCKED: a row a request holds (a refresh locks
// its token FOR UPDATE) is left for the next run instead of making the sweeper wait.
const BATCH_DELETE: Record<SweptTable, string> = {
  refresh_tokens: `
    DELETE FROM refresh_tokens WHERE token_hash IN (
      SELECT token_hash FROM refresh_tokens
       WHERE expires_at < now() - make_interval(secs => $2)
       ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)`,
  revoked_access_tokens: `
    DELETE FROM revoked_access_tokens WHERE jti IN (
      SELECT jti FROM revoked_access_tokens
       WHERE expires_at < now() - make_interval(secs => $2)
       ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)`,
  // Runs after refresh_tokens, so families emptied by this same run go too.
  session_families: `
    DELETE FROM session_families WHERE family_id IN (
      SELECT f.family_id FROM session_families f
       WHERE f.created_at < now() - make_interval(secs => $2)
         AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = f.family_id)
       ORDER BY f.created_at LIMIT $1 FOR UPDATE OF f SKIP LOCKED)`,
};

const MIN_AGE_SECONDS: Record<SweptTable, number> = {
  refresh_tokens: SWEEP_GRACE_SECONDS,
  revoked_access_tokens: SWEEP_GRACE_SECONDS,
  session_families: REFRESH_TOKEN_TTL_SECONDS + SWEEP_GRACE_SECONDS,
};

export interface SweepOptions {
  batchSize: number;
  /** asked before every batch; false ends the run early (demoted, fenced, shutting down) */
  mayContinue?: () => boolean;
  /** after each committed batch, so counts stay right even if a later batch fails */
  onBatch?: (table: SweptTable, deleted: number) => void;
}

/**
 * One pass over the three tables: batches of at most `batchSize` rows, each its own short transaction,
 * repeated per table until a batch comes back short. Returns how many rows went from each table.
 */
export async function sweepExpiredRows(pool: pg.Pool, opts: SweepOptions): Promise<SweepCounts> {
  const deleted: SweepCounts = { refresh_tokens: 0, revoked_access_tokens: 0, session_families: 0 };
  for (const table of SWEPT_TABLES) {
    for (;;) {
      if (opts.mayContinue && !opts.mayContinue()) return deleted;
      const count = await withTransaction(pool, commitFor('login'), async (client) => {
        await client.query(`SET LOCAL lock_timeout = '2s'`);
        const result = await client.query(BATCH_DELETE[table], [opts.batchSize, MIN_AGE_SECONDS[table]]);
        return result.rowCount ?? 0;
      });
      deleted[table] += count;
      if (count > 0) opts.onBatch?.(table, count);
      if (count < opts.batchSize) break;
    }
  }
  return deleted;
}

export type SweepOutcome =
  | { ran: true; deleted: SweepCounts; ms: number }
  | { ran: false; reason: 'not_primary' | 'already_running' | 'stopped' | 'read_only' | 'failed' };

export interface Sweeper {
  /** One sweep now, unless one is running, the cell is not the writable primary, or it was stopped. */
  runOnce(): Promise<SweepOutcome>;
  /** Starts the periodic sweep (no-op when intervalMs is 0). */
  start(): void;
  /** Cancels the timer and waits for a running sweep to finish its current batch. */
  stop(): Promise<void>;
}

export function createSweeper(app: FastifyInstance, settings: SweepSettings): Sweeper {
  const swept = app.metrics.counter(
    'login_rows_swept_total',
    'Expired token rows deleted by the sweeper, by table',
    ['table'],
  );
  for (const table of SWEPT_TABLES) swept.inc({ table }, 0); // every series exists from the start
  let running: Promise<SweepOutcome> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const isWritablePrimary = () => app.cell.role() === 'primary';

  async function sweep(): Promise<SweepOutcome> {
    const started = performance.now();
    try {
      const deleted = await sweepExpiredRows(app.pg, {
        batchSize: settings.batchSize,
        mayContinue: () => !stopped && isWritablePrimary(),
        onBatch: (table, count) => swept.inc({ table }, count),
      });
      const ms = Math.round(performance.now() - started);
      if (SWEPT_TABLES.some((table) => deleted[table] > 0))
        app.log.info({ deleted, ms }, 'swept expired rows');
      return { ran: true, deleted, ms };
    } catch (err) {
      if ((err as { code?: string }).code === READ_ONLY_SQLSTATE) {
        // Demoted since the cached role was read: not an error, the new primary sweeps now.
        void app.cell.refresh();
        return { ran: false, reason: 'read_only' };
      }
      app.log.warn({ err: (err as Error).message }, 'sweep of expired rows failed');
      return { ran: false, reason: 'failed' };
    }
  }

  function runOnce(): Promise<SweepOutcome> {
    if (stopped) return Promise.resolve({ ran: false, reason: 'stopped' });
    if (running) return Promise.resolve({ ran: false, reason: 'already_running' });
    // A standby's Postgres is read-only and a fenced cell must not write: skip quietly.
    if (!isWritablePrimary()) return Promise.resolve({ ran: false, reason: 'not_primary' });
    running = sweep().finally(() => {
      running = undefined;
    });
    return running;
  }

  function schedule(): void {
    if (stopped || settings.intervalMs === 0) return;
    if (timer) clearTimeout(timer); // start() twice still means one timer
    // setTimeout after each run, not setInterval: a slow sweep delays the next one instead of piling up.
    timer = setTimeout(() => {
      void runOnce().finally(schedule);
    }, settings.intervalMs);
    timer.unref();
  }

  return {
    runOnce,
    start: schedule,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
