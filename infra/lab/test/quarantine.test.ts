// A fork on real Postgres: the standby promoted while the old primary keeps running and takes a write
// (a thawed old primary before its fence). The rows only the old primary holds are exported before it
// would be rebuilt; rows both sides hold, and rows only the new primary holds, are not. Then the
// same old primary is killed with a write in flight on it, and read again privately while stopped.

import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopPostgresFast, superuserQuery } from '../src/datastores/postgres';
import { isRunning, waitGone } from '../src/process';
import { listQuarantine, quarantineForkedRows, quarantineStoppedPrimary } from '../src/quarantine';
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

  it('reads a killed old primary privately (no TCP, a 0700 socket dir, read-only) and stops it again', async () => {
    const old = tier.primary;
    const fresh = tier.standby!;
    // acknowledged on the old primary (sync commit: the standby is promoted, nothing waits), then killed
    await asApp(old.databaseUrl, transfer('only-on-old-then-killed'));
    old.kill('SIGKILL');
    expect(await waitGone([old.pgPid], 5_000)).toBe(true);

    const dir = join(tier.stateDir, 'quarantine-stopped');
    let seen: { tcp: string; socketMode: number; settings: Record<string, string>; pid: number } | undefined;
    const result = await quarantineStoppedPrimary(old.postgres, fresh.postgres, dir, {
      // the private server as seen from outside and from its own socket, just before it stops
      stop: async (postmaster, node) => {
        const tcp = await asApp(old.databaseUrl, 'SELECT 1').then(
          () => 'open',
          (err: NodeJS.ErrnoException) => err.code ?? err.message,
        );
        const rows = await superuserQuery<{ name: string; setting: string }>(
          node,
          `SELECT name, setting FROM pg_settings
            WHERE name IN ('listen_addresses', 'default_transaction_read_only', 'unix_socket_directories')`,
        );
        seen = {
          tcp,
          socketMode: statSync(node.socketDir).mode & 0o777,
          settings: Object.fromEntries(rows.map((r) => [r.name, r.setting])),
          pid: postmaster.pid!,
        };
        await stopPostgresFast(postmaster);
      },
    });
    try {
      expect(seen?.tcp).toBe('ECONNREFUSED');
      expect(seen?.socketMode).toBe(0o700);
      expect(seen?.settings).toMatchObject({ listen_addresses: '', default_transaction_read_only: 'on' });
      expect(seen?.settings.unix_socket_directories).not.toBe(old.postgres.socketDir);
      expect(existsSync(seen!.settings.unix_socket_directories!)).toBe(false); // removed with the server
      expect(isRunning(seen!.pid)).toBe(false);
      // crash recovery ran at the private start: the write acknowledged just before the kill is there
      expect(result).toMatchObject({ rows: 2, byTable: { transfers: 2 } });
      const keys = readFileSync(result.file!, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).key);
      expect(keys).toEqual(['only-on-old', 'only-on-old-then-killed']);
      expect(listQuarantine(dir)).toEqual([{ file: result.file, service: 'payments', rows: 2 }]);
    } finally {
      if (result.file && existsSync(result.file)) rmSync(result.file);
    }
  }, 120_000);
});
