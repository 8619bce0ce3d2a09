// The audit's I/O: after recovery, read every acknowledged write back through the router from the
// new primary, and check each service's invariants. Pure comparison logic lives in ../audit.ts.
import type { ServiceName } from '@failover-lab/contracts';
import type { AdminApi } from '../admin';
import { API } from '../api';
import {
  type AuditFindings,
  acknowledgedWrites,
  compareAcked,
  messagingInvariants,
  paymentsInvariants,
} from '../audit';
import { mapLimit } from '../concurrency';
import type { RecordingClient } from '../load/http';
import type { SetupResult } from '../load/setup';
import { passwordFor } from '../load/workload';
import type { RequestRecord } from '../records';

export interface AuditContext {
  client: RecordingClient;
  admin: AdminApi;
  records: RequestRecord[];
  setup: SetupResult;
  faultMs: number;
  /** async services may lose writes acknowledged this long before the fault (their RPO) */
  asyncWindowMs: number;
  /** the payments admin audit taken after seeding, to compare totals with */
  paymentsAuditBefore: PaymentsAdminAudit | null;
  /** where the records came from: k6 writes are read back differently (see auditPayments/auditLogin) */
  source: 'builtin' | 'k6';
  /** a hook for the audit-catches-loss test: runs just before the read-back */
  beforeReadBack?: () => Promise<void>;
}

export async function auditAll(ctx: AuditContext): Promise<Record<ServiceName, AuditFindings>> {
  await ctx.beforeReadBack?.();
  const [login, payments, messaging] = await Promise.all([
    auditLogin(ctx),
    auditPayments(ctx),
    auditMessaging(ctx),
  ]);
  login.notes.push(...ctx.setup.notes); // setup's only notes are about login's revoked session
  return { login, payments, messaging };
}

/**
 * The audit of some services only (a step of a chained drill skips a service with no primary serving:
 * the router would hold every read-back for a primary that is not coming within the hold time).
 */
export async function auditSome(
  ctx: AuditContext,
  services: readonly ServiceName[],
): Promise<Partial<Record<ServiceName, AuditFindings>>> {
  const auditors = { login: auditLogin, payments: auditPayments, messaging: auditMessaging };
  const found = await Promise.all(services.map(async (s) => [s, await auditors[s](ctx)] as const));
  return Object.fromEntries(found);
}

const window = (ctx: AuditContext) => ({ faultMs: ctx.faultMs, asyncWindowMs: ctx.asyncWindowMs });
const userToken = (ctx: AuditContext, index: unknown) =>
  `Bearer ${ctx.setup.state.users[typeof index === 'number' ? index : 0]!.accessToken}`;

// ---- payments ---------------------------------------------------------------------------------

async function auditPayments(ctx: AuditContext): Promise<AuditFindings> {
  const notes: string[] = [];
  const acked = acknowledgedWrites(ctx.records, 'payments');
  // Every key ever attempted, acked or not: a timed-out transfer may still have been applied, and
  // the expected balances must include it (exactly once) to prove nothing was applied twice.
  const attempts = new Map<string, RequestRecord>();
  for (const r of ctx.records)
    if (r.service === 'payments' && r.op === 'transfer' && r.writeId) attempts.set(r.writeId, r);
  const applied = new Map<string, number>();
  await mapLimit([...attempts.values()], 16, async (r) => {
    // Our own transfers are read through the router with their owner's token; k6's (no drill user)
    // on the primary cell with the admin token, which the transfer lookup also accepts.
    const { status, body } =
      r.detail?.user === undefined
        ? await ctx.admin.cellGet(
            'payments',
            await ctx.admin.requirePrimaryRegion('payments'),
            API.payments.transferByKey(r.writeId!),
          )
        : await readBack(ctx, API.payments.transferByKey(r.writeId!), userToken(ctx, r.detail.user));
    if (status === 200) applied.set(r.writeId!, appliedCountOf(body));
    else if (status === 404) applied.set(r.writeId!, 0);
    else notes.push(`transfer ${r.writeId} unreadable (${status})`);
  });
  const compared = compareAcked(acked, (id) => applied.get(id) ?? 0, window(ctx));

  // Balances of this drill's accounts: expected = seed ± every transfer found applied.
  const expected = new Map<string, number>();
  for (const u of ctx.setup.state.users)
    expected.set(u.accountId, ctx.setup.seededTotal / ctx.setup.state.users.length);
  for (const [key, count] of applied) {
    const d = attempts.get(key)!.detail ?? {};
    const amount = Number(d.amount) * count;
    const from = String(d.from);
    const to = String(d.to);
    if (expected.has(from)) expected.set(from, expected.get(from)! - amount);
    if (expected.has(to)) expected.set(to, expected.get(to)! + amount);
  }
  let total = 0;
  let negative = 0;
  let mismatched = 0;
  await mapLimit(ctx.setup.state.users, 8, async (u) => {
    const { status, body } = await readBack(
      ctx,
      API.payments.account(u.accountId),
      `Bearer ${u.accessToken}`,
    );
    const balance = (body as { balance?: unknown } | null)?.balance;
    if (status !== 200 || typeof balance !== 'number') {
      notes.push(`account ${u.accountId} unreadable (${status})`);
      mismatched++;
      return;
    }
    total += balance;
    if (balance < 0) negative++;
    if (balance !== expected.get(u.accountId)) mismatched++;
  });
  const invariants: Record<string, boolean> = {
    ...paymentsInvariants(
      { totalSeeded: ctx.setup.seededTotal, totalNow: total, negativeAccounts: negative },
      { lost: compared.lostAckedWrites, duplicates: compared.duplicateWrites },
    ),
    balancesMatchAppliedTransfers: mismatched === 0,
  };
  if (mismatched > 0) notes.push(`${mismatched} account(s) differ from seed ± applied transfers`);

  // The service's own ledger audit on the primary cell, compared with the one taken after seeding.
  let duplicates = compared.duplicateWrites;
  try {
    const after = await ctx.admin.primaryCellJson<PaymentsAdminAudit>('payments', {
      method: 'GET',
      path: API.admin.paymentsAudit,
    });
    const ledger = adminAuditInvariants(ctx.paymentsAuditBefore, after);
    Object.assign(invariants, ledger.invariants);
    duplicates += Math.floor(ledger.extraLedgerEntries / 2);
  } catch (err) {
    notes.push(`payments admin audit unavailable: ${(err as Error).message}`);
    invariants['ledger.audited'] = false;
  }
  return { ...compared, duplicateWrites: duplicates, invariants, notes };
}

function appliedCountOf(body: unknown): number {
  // The transfers row is unique per key and records the decision: only a completed one moved money.
  return (body as { outcome?: unknown } | null)?.outcome === 'completed' ? 1 : 0;
}

/** The payments service's own ledger audit (GET /admin/audit/payments), fields as in its ledger.ts. */
export interface PaymentsAdminAudit {
  totalBalance: number;
  openingBalance: number;
  negativeBalances: number;
  accountsOutOfBalance: number;
  transfers: number;
  ledgerEntries: number;
  ledgerImbalance: number;
}

/** Invariants over the whole ledger; `extraLedgerEntries / 2` = transfers applied more than once. */
export function adminAuditInvariants(before: PaymentsAdminAudit | null, after: PaymentsAdminAudit) {
  const invariants: Record<string, boolean> = {
    'ledger.totalEqualsOpening': after.totalBalance === after.openingBalance,
    'ledger.noNegativeBalance': after.negativeBalances === 0,
    'ledger.accountsMatchLedger': after.accountsOutOfBalance === 0,
    'ledger.doubleEntryBalanced': after.ledgerImbalance === 0 && after.ledgerEntries === 2 * after.transfers,
  };
  // Seeding is the only thing that changes the total; the drill seeds before taking `before`.
  if (before) invariants['ledger.totalUnchanged'] = after.totalBalance === before.totalBalance;
  return { invariants, extraLedgerEntries: Math.max(0, after.ledgerEntries - 2 * after.transfers) };
}

// ---- messaging --------------------------------------------------------------------------------

async function auditMessaging(ctx: AuditContext): Promise<AuditFindings> {
  const notes: string[] = [];
  const acked = acknowledgedWrites(ctx.records, 'messaging');
  const rooms = new Set<string>();
  for (const r of acked.values()) rooms.add(String(r.detail?.room));
  const seen = new Map<string, number>();
  const token = userToken(ctx, 0);
  await mapLimit([...rooms], 8, async (room) => {
    let after: string | undefined;
    for (let page = 0; page < 1_000; page++) {
      const { status, body } = await readBack(ctx, API.messaging.list(room, after), token);
      if (status !== 200) {
        notes.push(`room ${room} unreadable (${status})`);
        return;
      }
      const { messages, nextCursor } = body as { messages: { id: string }[]; nextCursor: string | null };
      for (const m of messages) seen.set(m.id, (seen.get(m.id) ?? 0) + 1);
      if (messages.length === 0 || !nextCursor) return;
      after = nextCursor;
    }
  });
  const compared = compareAcked(acked, (id) => seen.get(id) ?? 0, window(ctx));
  return { ...compared, invariants: messagingInvariants(compared), notes };
}

// ---- login ------------------------------------------------------------------------------------

async function auditLogin(ctx: AuditContext): Promise<AuditFindings> {
  const notes: string[] = [];
  // sign-ups here; the revoke op's writes are checked below, by presenting what they revoked
  const acked = acknowledgedWrites(
    ctx.records.filter((r) => r.op === 'signup'),
    'login',
  );
  const found = new Map<string, number>();
  if (ctx.source === 'k6') {
    // k6 makes up its users' passwords and keeps them: their sign-ups cannot be signed in again here.
    notes.push(`${acked.size} k6 sign-up(s) not read back (their passwords live only in k6)`);
    acked.clear();
  }
  // Sign-ups acknowledged during the load must still sign in (password hashing is slow: few at a time).
  await mapLimit([...acked.keys()], 4, async (username) => {
    const password = passwordFor(ctx.setup.state.passwordSecret, username);
    const { status } = await readBack(ctx, API.login.signin.path, null, { username, password });
    if (status === 201) found.set(username, 1);
    else if (status === 401 || status === 404) found.set(username, 0);
    else notes.push(`sign-in of ${username} answered ${status}`);
  });
  const compared = compareAcked(acked, (id) => found.get(id) ?? 0, window(ctx));
  const invariants: Record<string, boolean> = {};
  const revoked = ctx.setup.revoked;
  if (revoked) {
    // Neither its refresh token nor its access token may work again on the new primary.
    const refresh = await readBack(ctx, API.login.refresh.path, null, { refreshToken: revoked.refreshToken });
    const me = await readBack(ctx, API.login.me.path, `Bearer ${revoked.accessToken}`);
    invariants.revokedSessionStaysRevoked = refresh.status === 401 && me.status === 401;
    if (!invariants.revokedSessionStaysRevoked) {
      notes.push(`a session revoked before the fault answered refresh ${refresh.status}, me ${me.status}`);
    }
  } else {
    notes.push('no revoked session to check (setup could not sign one out)');
  }
  Object.assign(invariants, await auditRevocations(ctx, notes));
  return { ...compared, invariants, notes };
}

/**
 * Every revocation the load was told succeeded is still in force on the primary now: a signed-out
 * session's access token is refused by login and its refresh token issues nothing; a rotated refresh
 * token issues nothing (401 either way; a lost rotation would answer 200). Login commits these
 * synchronously to its standby, so a failover may not lose one, whenever it was acknowledged.
 */
async function auditRevocations(ctx: AuditContext, notes: string[]): Promise<Record<string, boolean>> {
  const revocations = ctx.setup.state.revocations;
  if (ctx.source === 'k6' || revocations.length === 0) {
    notes.push(
      ctx.source === 'k6'
        ? 'k6 load: its revocations are not read back (its tokens live only in k6)'
        : 'no revocation acknowledged during the load',
    );
    return {};
  }
  const revived: string[] = [];
  const unreadable: string[] = [];
  await mapLimit(revocations, 8, async (rev) => {
    const refresh = await readBack(ctx, API.login.refresh.path, null, { refreshToken: rev.refreshToken });
    const statuses = [refresh.status];
    if (rev.kind === 'signout')
      statuses.push((await readBack(ctx, API.login.me.path, `Bearer ${rev.accessToken}`)).status);
    if (statuses.some((s) => s === 200)) revived.push(`${rev.kind} ${rev.writeId}`);
    else if (statuses.some((s) => s !== 401)) unreadable.push(`${rev.writeId} (${statuses.join('/')})`);
  });
  const signouts = revocations.filter((r) => r.kind === 'signout').length;
  notes.push(
    `${revocations.length} acknowledged revocation(s) presented again (${signouts} sign-out(s), ` +
      `${revocations.length - signouts} rotation(s)): ${revived.length} working again`,
  );
  if (revived.length > 0) notes.push(`revoked but working again: ${revived.slice(0, 5).join(', ')}`);
  if (unreadable.length > 0) notes.push(`revocations not checkable: ${unreadable.slice(0, 5).join(', ')}`);
  return { everyAckedRevocationInForce: revived.length === 0 && unreadable.length === 0 };
}

// ---- helpers ----------------------------------------------------------------------------------

/**
 * How long one read-back keeps retrying transport errors and 5xx. A read that never succeeds counts
 * against the audit (conservative), so a busy machine must not turn "slow" into "lost": right after a
 * failover at load 20+, reads through the router were seen to fail for tens of seconds.
 */
const READ_BACK_BUDGET_MS = 30_000;

/** A read-back through the router, retried on transport errors and 5xx (the system just recovered). */
async function readBack(ctx: AuditContext, path: string, authorization: string | null, body?: unknown) {
  let last = { status: 0, body: null as unknown };
  const deadline = Date.now() + READ_BACK_BUDGET_MS;
  for (let attempt = 0; ; attempt++) {
    const r = await ctx.client.call({
      service: 'login',
      op: 'read',
      method: body === undefined ? 'GET' : 'POST',
      path,
      ...(body !== undefined ? { body } : {}),
      headers: authorization ? { authorization } : {},
      okStatuses: [200],
    });
    last = { status: r.status, body: r.body };
    if (r.status !== 0 && r.status < 500) return last;
    const pauseMs = Math.min(2_000, 200 * (attempt + 1));
    if (Date.now() + pauseMs >= deadline) return last;
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}
