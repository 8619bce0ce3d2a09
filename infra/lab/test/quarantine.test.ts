// A fork on real Postgres: the standby promoted while the old primary keeps running and takes a write
// (a thawed old primary before its fence). The rows only the old primary holds are exported before it
// would be rebuilt; rows both sides hold, and rows only the new primary holds, are not.

import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listQuarantine, quarantineForkedRows } from '../src/quarantine';
import { startTestDataTier, type TestDataTier, waitUntil } from '../src/testing';

let tier: TestDataTier;
const LEDGER = fileURLToPath(
  new URL('../../../services/payments/src/migrations/001_ledger.sql', import.meta.url),
);

beforeAll(async () => {
  tier = await startTestDataTier({ service: 'payments', standby: true });
});

afterAll(async () => {
  await tier?.stop();
});

async function asApp(url: string, sql: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql, params);
  } finally {
    await client.end();
  }
}

const transfer = (key: string) =>
  `INSERT INTO transfers (idempotency_key, request_hash, caller, from_account, to_account, amount, outcome, status_code, response)
   VALUES ('${key}', 'h', 'u', 'a', 'b', 1, 'completed', 201, '{}')`;

describe('quarantine of forked writes', () => {
  it('exports exactly the transfers the old primary holds and the new primary lacks', async () => {
    const old = tier.primary;
    const fresh = tier.standby!;
    await asApp(old.databaseUrl, readFileSync(LEDGER, 'utf8'));
    await asApp(
      old.databaseUrl,
      `SET synchronous_commit = on;
       INSERT INTO accounts (id, owner, balance, opening_balance) VALUES ('a', 'u', 10, 10), ('b', 'u', 10, 10);
       ${transfer('before-fork')}`,
    );
    await waitUntil(
      'the standby replays the pre-fork transfer',
      async () =>
        (await fresh.query(`SELECT 1 FROM transfers WHERE idempotency_key = 'before-fork'`)).length === 1,
      10_000,
    );
    // the fork: the standby is promoted while the old primary keeps running, and both take writes
    await fresh.query('SELECT pg_promote(true, 30)');
    await old.query(`ALTER SYSTEM SET synchronous_standby_names = ''`);
    await old.query('SELECT pg_reload_conf()');
    await asApp(old.databaseUrl, transfer('only-on-old'));
    await asApp(fresh.databaseUrl, transfer('only-on-new'));

    const dir = join(tier.stateDir, 'quarantine');
    const result = await quarantineForkedRows(old.postgres, fresh.postgres, dir);
    try {
      expect(result).toMatchObject({ rows: 1, byTable: { transfers: 1 } });
      const lines = readFileSync(result.file!, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        service: 'payments',
        table: 'transfers',
        key: 'only-on-old',
        row: { idempotency_key: 'only-on-old', amount: 1, outcome: 'completed' },
      });
      // what `lab status` lists
      expect(listQuarantine(dir)).toEqual([{ file: result.file, service: 'payments', rows: 1 }]);
      // nothing forked the other way round: no file
      const none = await quarantineForkedRows(old.postgres, old.postgres, dir);
      expect(none).toEqual({ file: null, rows: 0, byTable: { transfers: 0 } });
    } finally {
      if (result.file && existsSync(result.file)) rmSync(result.file);
    }
  }, 90_000);
});
