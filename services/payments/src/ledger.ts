// The money-moving core. One transaction per transfer, committed with synchronous_commit=on (an
// acknowledged transfer is on the sync standby), holding:
//   1. an advisory lock on the idempotency key — two requests with one key are serialized, the second
//      sees the first's record and replays it;
//   2. row locks on both accounts in id order (SELECT … ORDER BY id FOR UPDATE) — no deadlocks
//      between opposite transfers;
//   3. the idempotency record and the two ledger rows, written together or not at all.
import { createHash } from 'node:crypto';
import { commitFor, withTransaction } from '@failover-lab/cell-kit';
import type pg from 'pg';
import { paymentErrors } from './errors';

export interface TransferInput {
  caller: string;
  idempotencyKey: string;
  from: string;
  to: string;
  amount: number;
}

export type TransferOutcome = 'completed' | 'insufficient_funds';

export interface TransferResult {
  statusCode: number;
  body: unknown;
  outcome: TransferOutcome;
  replayed: boolean;
}

/** What makes two requests "the same" for an idempotency key: who asked, and what. */
export function requestHash(input: TransferInput): string {
  return createHash('sha256')
    .update(JSON.stringify([input.caller, input.from, input.to, input.amount]))
    .digest('hex');
}

interface StoredTransfer {
  request_hash: string;
  outcome: TransferOutcome;
  status_code: number;
  response: unknown;
}

async function findByKey(
  client: pg.PoolClient,
  caller: string,
  key: string,
): Promise<StoredTransfer | undefined> {
  const { rows } = await client.query<StoredTransfer>(
    'SELECT request_hash, outcome, status_code, response FROM transfers WHERE caller = $1 AND idempotency_key = $2',
    [caller, key],
  );
  return rows[0];
}

function replay(stored: StoredTransfer, hash: string): TransferResult {
  if (stored.request_hash !== hash) throw paymentErrors.make('IDEMPOTENCY_MISMATCH');
  return { statusCode: stored.status_code, body: stored.response, outcome: stored.outcome, replayed: true };
}

export async function executeTransfer(pool: pg.Pool, input: TransferInput): Promise<TransferResult> {
  if (input.from === input.to) throw paymentErrors.make('SAME_ACCOUNT');
  const hash = requestHash(input);
  return withTransaction(pool, commitFor('payments'), async (client) => {
    // Keys are per caller (002_caller_scoped_keys.sql); the lock too, as JSON so no caller/key pair
    // can collide with another's by concatenation.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      JSON.stringify(['transfer', input.caller, input.idempotencyKey]),
    ]);
    const stored = await findByKey(client, input.caller, input.idempotencyKey);
    if (stored) return replay(stored, hash);

    const { rows: accounts } = await client.query<{ id: string; owner: string; balance: string }>(
      'SELECT id, owner, balance FROM accounts WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE',
      [[input.from, input.to]],
    );
    const from = accounts.find((a) => a.id === input.from);
    const to = accounts.find((a) => a.id === input.to);
    // The same answer as GET /payments/accounts/:id for a missing or someone else's account, and one
    // answer for either side: the body must not tell which account is missing or whose it is.
    if (!from || from.owner !== input.caller || !to) throw paymentErrors.make('ACCOUNT_NOT_FOUND');

    // Insufficient funds is a decision about this key too: a retry gets the same answer.
    const sufficient = Number(from.balance) >= input.amount;
    const outcome: TransferOutcome = sufficient ? 'completed' : 'insufficient_funds';
    const statusCode = sufficient ? 201 : 409;
    // The decision, both ledger rows and both balances in one statement (fewer round trips while
    // the account rows are locked); the CHECK (balance >= 0) still guards every row.
    const { rows } = await client.query<{ id: string; created_at: Date }>(
      `WITH t AS (
         INSERT INTO transfers
           (idempotency_key, request_hash, caller, from_account, to_account, amount, outcome, status_code, response)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '{}'::jsonb)
         RETURNING id, created_at
       ), ledger AS (
         INSERT INTO ledger_entries (transfer_id, account_id, amount)
         SELECT t.id, e.account_id, e.amount
           FROM t, (VALUES ($4::text, -$6::bigint), ($5::text, $6::bigint)) AS e(account_id, amount)
          WHERE $9::boolean
       ), balances AS (
         UPDATE accounts SET balance = balance + CASE WHEN id = $4 THEN -$6::bigint ELSE $6::bigint END
          WHERE id IN ($4, $5) AND $9::boolean
       )
       SELECT id, created_at FROM t`,
      [
        input.idempotencyKey,
        hash,
        input.caller,
        input.from,
        input.to,
        input.amount,
        outcome,
        statusCode,
        sufficient,
      ],
    );
    const transferId = Number(rows[0]!.id);
    const body = sufficient
      ? {
          id: transferId,
          idempotencyKey: input.idempotencyKey,
          from: input.from,
          to: input.to,
          amount: input.amount,
          status: 'completed' as const,
          createdAt: rows[0]!.created_at.toISOString(),
        }
      : {
          error: {
            code: paymentErrors.codeOf('INSUFFICIENT_FUNDS'),
            message: `account ${input.from} has ${from.balance}, transfer needs ${input.amount}`,
          },
        };
    await client.query('UPDATE transfers SET response = $2 WHERE id = $1', [
      transferId,
      JSON.stringify(body),
    ]);
    return { statusCode, body, outcome, replayed: false };
  });
}

export interface TransferRecordRow {
  idempotency_key: string;
  outcome: TransferOutcome;
  status_code: number;
  from_account: string;
  to_account: string;
  amount: string;
  created_at: Date;
  response: unknown;
  from_owner: string;
}

/**
 * The transfer `caller` made with `key`. Without a caller (the admin token, for audits): the key's
 * transfer when exactly one caller used it, else undefined (the admin names the caller with ?caller=).
 */
export async function findTransferRecord(
  pool: pg.Pool,
  key: string,
  caller?: string,
): Promise<TransferRecordRow | undefined> {
  const { rows } = await pool.query<TransferRecordRow>(
    `SELECT t.idempotency_key, t.outcome, t.status_code, t.from_account, t.to_account, t.amount,
            t.created_at, t.response, a.owner AS from_owner
       FROM transfers t JOIN accounts a ON a.id = t.from_account
      WHERE t.idempotency_key = $1 AND ($2::text IS NULL OR t.caller = $2)
      LIMIT 2`,
    [key, caller ?? null],
  );
  return rows.length === 1 ? rows[0] : undefined;
}

export interface AuditResult {
  totalBalance: number;
  openingBalance: number;
  accounts: number;
  negativeBalances: number;
  accountsOutOfBalance: number;
  transfers: number;
  rejectedTransfers: number;
  ledgerEntries: number;
  ledgerImbalance: number;
}

/** The drill's ground truth: money conserved, nothing negative, every account equal to its ledger. */
export async function audit(pool: pg.Pool): Promise<AuditResult> {
  const { rows } = await pool.query<Record<keyof AuditResult, string>>(
    `SELECT
       (SELECT coalesce(sum(balance), 0) FROM accounts) AS "totalBalance",
       (SELECT coalesce(sum(opening_balance), 0) FROM accounts) AS "openingBalance",
       (SELECT count(*) FROM accounts) AS accounts,
       (SELECT count(*) FROM accounts WHERE balance < 0) AS "negativeBalances",
       (SELECT count(*) FROM accounts a
         WHERE a.balance <> a.opening_balance
               + coalesce((SELECT sum(l.amount) FROM ledger_entries l WHERE l.account_id = a.id), 0)
       ) AS "accountsOutOfBalance",
       (SELECT count(*) FROM transfers WHERE outcome = 'completed') AS transfers,
       (SELECT count(*) FROM transfers WHERE outcome <> 'completed') AS "rejectedTransfers",
       (SELECT count(*) FROM ledger_entries) AS "ledgerEntries",
       (SELECT coalesce(sum(amount), 0) FROM ledger_entries) AS "ledgerImbalance"`,
  );
  const row = rows[0]!;
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)])) as unknown as AuditResult;
}
