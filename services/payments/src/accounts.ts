// Accounts: read one, and seed many (the drill's and the benchmarks' starting balances).
import { commitFor, withTransaction } from '@failover-lab/cell-kit';
import type pg from 'pg';

export interface Account {
  id: string;
  owner: string;
  balance: number;
}

export async function findAccount(pool: pg.Pool, id: string): Promise<Account | undefined> {
  const { rows } = await pool.query<{ id: string; owner: string; balance: string }>(
    'SELECT id, owner, balance FROM accounts WHERE id = $1',
    [id],
  );
  const row = rows[0];
  return row && { id: row.id, owner: row.owner, balance: Number(row.balance) };
}

/** Idempotent on id: an existing account keeps its owner and balance. Returns how many were new. */
export async function seedAccounts(pool: pg.Pool, accounts: readonly Account[]): Promise<number> {
  return withTransaction(pool, commitFor('payments'), async (client) => {
    const { rowCount } = await client.query(
      `INSERT INTO accounts (id, owner, balance, opening_balance)
       SELECT id, owner, balance, balance
         FROM unnest($1::text[], $2::text[], $3::bigint[]) AS s(id, owner, balance)
       ON CONFLICT (id) DO NOTHING`,
      [accounts.map((a) => a.id), accounts.map((a) => a.owner), accounts.map((a) => a.balance)],
    );
    return rowCount ?? 0;
  });
}
