// The fence in the data tier (docs/fencing.md, "A durable fence"). An in-memory flag on the app is
// lost when the app restarts and does nothing against a direct caller or a background job, so a
// fence also
// - revokes the app role's write privileges on every table and sequence of the service's schema
//   (a catalog change: it survives restarts, and a standby that replays it gets it too), and
// - keeps the fence epoch in the data directory (`ALTER SYSTEM SET failover_lab.fenced_epoch`, i.e.
//   postgresql.auto.conf), read by the cell at boot and on every refresh, and by the lab when it
//   starts the node, so no restart of the app or of Postgres undoes it.
// Only a promotion at an epoch at least the fence's lifts it (grants restored, marker reset).
//
// The app role owns the tables, and an owner could grant itself the privileges back: the fence
// holds against every path of this code base (requests, restarts, the login sweeper), not against an
// app that sets out to undo it. Authentication (pg_hba, passwords) is untouched here.
import type pg from 'pg';
import { withClient, withTransaction } from './db';

/** The custom setting that carries the fence epoch in postgresql.auto.conf. */
export const FENCE_SETTING = 'failover_lab.fenced_epoch';

/** What the write privileges are: everything that changes a row or a sequence. */
const TABLE_WRITES = 'INSERT, UPDATE, DELETE, TRUNCATE';
const SEQUENCE_WRITES = 'USAGE, UPDATE';

/** The fence epoch from a `current_setting(…, true)` value: null when unset or ''. */
export function parseFenceEpoch(value: string | null | undefined): number | null {
  if (value === null || value === undefined || !/^\d{1,15}$/.test(value)) return null;
  return Number(value);
}

export interface DataTierFence {
  /** the epoch is in postgresql.auto.conf (the cell and the lab read it at boot) */
  marker: boolean;
  /** the app role's write privileges were revoked (false on a standby: it replays its primary's) */
  grantsRevoked: boolean;
}

/**
 * Marker first (it also fences a standby, which cannot change its catalog), then the grants. The
 * REVOKE commits locally: a sync standby that is gone must not hang the fence.
 */
export async function fenceDataTier(pool: pg.Pool, epoch: number): Promise<DataTierFence> {
  const marker = await withClient(pool, async (client, discard) => {
    await alterSystem(client, discard, `SET ${FENCE_SETTING} = '${epoch}'`); // an integer (schema-checked)
    return true;
  });
  const { rows } = await pool.query<{ in_recovery: boolean }>('SELECT pg_is_in_recovery() AS in_recovery');
  if (rows[0]!.in_recovery) return { marker, grantsRevoked: false };
  await withTransaction(pool, { synchronousCommit: 'local' }, async (client) => {
    await client.query(`REVOKE ${TABLE_WRITES} ON ALL TABLES IN SCHEMA public FROM CURRENT_USER`);
    await client.query(`REVOKE ${SEQUENCE_WRITES} ON ALL SEQUENCES IN SCHEMA public FROM CURRENT_USER`);
  });
  return { marker, grantsRevoked: true };
}

/**
 * PostgreSQL 15's ALTER SYSTEM accepts a custom setting only once the session knows it (16 lifted
 * that): a session SET makes it a placeholder. That SET would then hide the file's value from this
 * session for good, so the connection is discarded, never returned to the pool.
 */
async function alterSystem(client: pg.PoolClient, discard: () => void, change: string): Promise<void> {
  discard();
  await client.query(`SET ${FENCE_SETTING} = ''`);
  await client.query(`ALTER SYSTEM ${change}`);
  await client.query('SELECT pg_reload_conf()');
}

/**
 * The write privileges back, as statements for the caller's transaction: a promotion commits them in
 * one transaction with its epoch row (routes/admin.ts), so a stale promotion refused there grants
 * nothing either.
 */
export const GRANT_WRITES_SQL = `GRANT ${TABLE_WRITES} ON ALL TABLES IN SCHEMA public TO CURRENT_USER; GRANT ${SEQUENCE_WRITES} ON ALL SEQUENCES IN SCHEMA public TO CURRENT_USER`;

/** The write privileges back in a transaction of their own. Postgres must be out of recovery. */
export async function grantWrites(pool: pg.Pool): Promise<void> {
  await withTransaction(pool, { synchronousCommit: 'local' }, async (client) => {
    await client.query(GRANT_WRITES_SQL);
  });
}

/**
 * A promotion resets the marker once the grants are back (the reverse of fenceDataTier's order, so no
 * moment has neither). A session that has read the marker keeps its value until a reload reaches it,
 * so the caller says whether there is one (read before); none, nothing to do.
 */
export async function clearFenceMarker(pool: pg.Pool): Promise<void> {
  await withClient(pool, (client, discard) => alterSystem(client, discard, `RESET ${FENCE_SETTING}`));
}
