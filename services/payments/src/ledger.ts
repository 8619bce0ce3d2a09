// The money-moving core. One transaction per transfer, committed with synchronous_commit=on (an
// acknowledged transfer is on the sync standby), holding:
//   1. an advisory lock on the idempotency key — two requests with one key are serialized, the second
//      sees the first's record and replays it;
//   2. row locks on both accounts in id order (SELECT … ORDER BY id FOR UPDATE) — no deadlocks
//      between opposite transfers;
//   3. the idempotency record and the two ledger rows, written together or not at all.
// All three happen in one round trip, committed inside Postgres: CALL payments_transfer_commit()
// (migrations/003_transfer_function.sql).
import { createHash } from 'node:crypto';
import { callTransaction, commitFor } from '@failover-lab/cell-kit';
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

interface TransferRow {
  kind: 'replayed' | 'not_found' | 'decided';
  outcome: TransferOutcome;
  request_hash: string | null;
  status_code: number;
  response: unknown;
}

export async function executeTransfer(pool: pg.Pool, input: TransferInput): Promise<TransferResult> {
  if (input.from === input.to) throw paymentErrors.make('SAME_ACCOUNT');
  const hash = requestHash(input);
  // One round trip (migrations/003_transfer_function.sql): the hot account rows are locked and
  // released inside Postgres, never across a round trip to this process. Keys are per caller
  // (002_caller_scoped_keys.sql); the advisory lock too, as JSON so no caller/key pair can collide
  // with another's by concatenation.
  const row = await callTransaction<TransferRow>(
    pool,
    commitFor('payments'),
    'CALL payments_transfer_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
    [
      JSON.stringify(['transfer', input.caller, input.idempotencyKey]),
      input.caller,
      input.idempotencyKey,
      hash,
      input.from,
      input.to,
      input.amount,
      paymentErrors.codeOf('INSUFFICIENT_FUNDS'),
    ],
  );
  // The same answer as GET /payments/accounts/:id for a missing or someone else's account, and one
  // answer for either side: the body must not tell which account is missing or whose it is.
  if (row.kind === 'not_found') throw paymentErrors.make('ACCOUNT_NOT_FOUND');
  const replayed = row.kind === 'replayed';
  if (replayed && row.request_hash !== hash) throw paymentErrors.make('IDEMPOTENCY_MISMATCH');
  // Insufficient funds is a decision about this key too: a retry gets the same answer.
  return { statusCode: row.status_code, body: row.response, outcome: row.outcome, replayed };
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
