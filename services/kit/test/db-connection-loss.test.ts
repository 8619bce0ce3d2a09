// A database that dies while a transaction holds a pooled client (between two queries) must fail
// that transaction with a connection error, not crash the process: pg emits the socket's error on
// the client, and a checked-out client has no pool listener, so an unhandled 'error' event would be
// an uncaught exception (seen in the lab: payments apps exited on a db-kill, "second error, exiting").
import { startTestDataTier, type TestDataTier } from '@failover-lab/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, isConnectionError, withTransaction } from '../src/db';

let tier: TestDataTier;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);

beforeAll(async () => {
  tier = await startTestDataTier({ service: 'payments' });
  // Recorded rather than left to vitest, so the assertion names what went wrong.
  process.prependListener('uncaughtException', onUncaught);
});

afterAll(async () => {
  process.removeListener('uncaughtException', onUncaught);
  await tier?.stop();
});

describe('a database lost in the middle of a transaction', () => {
  it('fails the transaction with a connection error and raises nothing uncaught', async () => {
    const pool = createPool(tier.primary.databaseUrl, { max: 2 });
    try {
      let killedAt = 0;
      const outcome = withTransaction(pool, { synchronousCommit: 'local' }, async (client) => {
        await client.query('SELECT 1');
        // The server goes away while this client is checked out and idle in the transaction.
        tier.primary.kill('SIGKILL');
        killedAt = Date.now();
        await new Promise((resolve) => setTimeout(resolve, 500));
        await client.query('SELECT 2');
      });
      const err = await outcome.then(
        () => null,
        (e: unknown) => e,
      );
      expect(killedAt).toBeGreaterThan(0);
      expect(err, 'the transaction must fail').not.toBeNull();
      expect(isConnectionError(err), String(err)).toBe(true);
      expect(uncaught.map(String)).toEqual([]);
    } finally {
      await pool.end().catch(() => {});
    }
  });
});
