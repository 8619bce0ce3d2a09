// A write done as one CALL (callTransaction) is bound by the cell's lease as read when the CALL
// leaves: its lock_timeout and the commit guard's bound. A hot row held longer than the lease — a
// commit stuck on a cut replication link waits out sync.syncStallMs, longer than the lab's lease —
// must not fail a write whose deadline still allows it while the router keeps renewing the lease;
// and without a renewal the CALL must give up at the lease, with nothing written.
import { startTestDataTier, type TestDataTier } from '@failover-lab/lab/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTransaction } from '../src/db';
import { bindLease, registerDeadlineScope } from '../src/deadline';
import { defineErrors } from '../src/errors';

let tier: TestDataTier;
let pool: pg.Pool;
let app: FastifyInstance;
let leaseUntil: () => number | null = () => null;

const LEASE_MS = 400;
const HOLD_MS = 1_500;

beforeAll(async () => {
  tier = await startTestDataTier({ service: 'messaging' });
  pool = new pg.Pool({ connectionString: tier.primary.databaseUrl, max: 4 });
  // the convention callTransaction CALLs with: synchronous_commit, the commit bound, lock_timeout
  await pool.query(`
    CREATE TABLE IF NOT EXISTS call_lease_rows (id text PRIMARY KEY, n integer NOT NULL DEFAULT 0);
    CREATE OR REPLACE PROCEDURE call_lease_bump(p_sync text, p_bound text, p_lock_timeout_ms integer,
                                                p_id text, INOUT n integer DEFAULT NULL)
    LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM set_config('synchronous_commit', p_sync, true);
      IF p_bound IS NOT NULL THEN
        PERFORM set_config('lock_timeout', p_lock_timeout_ms::text, true);
      END IF;
      UPDATE call_lease_rows SET n = call_lease_rows.n + 1 WHERE id = p_id RETURNING call_lease_rows.n INTO n;
      COMMIT;
    END $$;`);
  app = Fastify();
  registerDeadlineScope(app, defineErrors('TEST', {}));
  app.post<{ Body: { id: string } }>('/bump', async (request) => {
    bindLease(leaseUntil);
    return callTransaction<{ n: number }>(
      pool,
      { synchronousCommit: 'on' },
      'CALL call_lease_bump($1, $2, $3, $4)',
      [request.body.id],
    );
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await pool?.end();
  await tier?.stop();
});

/**
 * Holds the row's lock in a session of its own for HOLD_MS, as a commit waiting for its standby does.
 * `released` resolves to the performance.now() at which the COMMIT that frees the row was sent.
 */
async function holdRow(id: string): Promise<{ released: Promise<number> }> {
  const holder = await pool.connect();
  await holder.query('BEGIN');
  await holder.query('UPDATE call_lease_rows SET n = n WHERE id = $1', [id]);
  // wrapped: an async function returning a bare promise would wait for it
  return {
    released: (async () => {
      await new Promise((r) => setTimeout(r, HOLD_MS));
      const committing = performance.now();
      await holder.query('COMMIT');
      holder.release();
      return committing;
    })(),
  };
}

async function bump(id: string) {
  return app.inject({
    method: 'POST',
    url: '/bump',
    headers: { 'x-request-deadline': String(Date.now() + 5_000) },
    payload: { id },
  });
}

describe('a CALL bound by the lease', () => {
  it('waits out a row held longer than the lease while the lease is renewed, and writes once', async () => {
    const id = `renewed-${crypto.randomUUID().slice(0, 8)}`;
    await pool.query('INSERT INTO call_lease_rows (id) VALUES ($1)', [id]);
    leaseUntil = () => Date.now() + LEASE_MS; // the router's grants keep arriving
    const { released } = await holdRow(id);
    const res = await bump(id);
    const answered = performance.now();
    const committing = await released;
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().n).toBe(1);
    // it waited for the row: answered after the holder's COMMIT left. (Not "≥ HOLD_MS since the
    // start": the hold is a Node timer, which counts from libuv's whole-millisecond loop clock and
    // can end a little before HOLD_MS of Date.now() have passed, more than the margin of the round
    // trips around it.)
    expect(answered).toBeGreaterThan(committing);
    const { rows } = await pool.query('SELECT n FROM call_lease_rows WHERE id = $1', [id]);
    expect(rows[0].n).toBe(1);
  });

  it('gives up at the lease when nothing renews it, and writes nothing', async () => {
    const id = `lapsed-${crypto.randomUUID().slice(0, 8)}`;
    await pool.query('INSERT INTO call_lease_rows (id) VALUES ($1)', [id]);
    const until = Date.now() + LEASE_MS;
    leaseUntil = () => until; // no grant after this one
    const { released } = await holdRow(id);
    const res = await bump(id);
    await released;
    expect(res.statusCode, res.body).toBe(503);
    expect(res.json().code ?? res.json().error?.code).toMatch(/DEADLINE_EXCEEDED/);
    const { rows } = await pool.query('SELECT n FROM call_lease_rows WHERE id = $1', [id]);
    expect(rows[0].n).toBe(0);
  });
});
