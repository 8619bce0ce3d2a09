// The realistic mix, as open-model arrival specs. Every op records itself through the client; writes
// carry client-made ids and a failed write is retried later with the SAME id (idempotency key, message
// id, username), which is exactly what makes duplicates possible and what the audit checks.

import { createHash, randomUUID } from 'node:crypto';
import { IDEMPOTENCY_KEY_HEADER } from '@failover-lab/contracts';
import { API } from '../api';
import { pick, type Random } from '../random';
import type { RequestRecord } from '../records';
import type { RecordingClient } from './http';
import type { ArrivalSpec } from './open-model';

export interface DrillUser {
  index: number;
  id: string;
  username: string;
  password: string;
  accessToken: string;
  accountId: string;
}

/** A session of its own for the revoke op (never a drill user's working token). Memory only. */
export interface RevocableSession {
  accessToken: string;
  refreshToken: string;
}

/**
 * A revocation the client was told succeeded: a sign-out (its access and refresh token) or a refresh
 * rotation (the refresh token it replaced). The login audit presents each after recovery: every one
 * must still be refused. Memory only: tokens never reach a record or a report.
 */
export type AckedRevocation =
  | { kind: 'signout'; writeId: string; accessToken: string; refreshToken: string }
  | { kind: 'rotation'; writeId: string; refreshToken: string };

export interface WorkloadState {
  runTag: string;
  users: DrillUser[];
  rooms: string[];
  random: Random;
  /** random per run, kept in memory only: drill users' passwords derive from it */
  passwordSecret: string;
  /** sessions the revoke op rotates and signs out; fed by setup and by sign-ins */
  sessions: RevocableSession[];
  revocations: AckedRevocation[];
}

/**
 * The built-in load's revoke op (a sign-out or a refresh rotation: login's revocation-class writes,
 * committed synchronously): its share of the rate is taken from `me`'s, so the total stays the rate
 * asked. Not in MIX, which k6's plan shares: k6 keeps its tokens to itself, so the audit could not
 * present its revocations again.
 */
export const REVOKE_SHARE = 0.015;

/** Sessions kept for the revoke op: a sign-in tops the pool up to this before it renews a user's token. */
const REVOCABLE_SESSIONS = 4;

/**
 * Share of the total rate per op: token checks and reads dominate, as in real traffic. Sign-in and
 * sign-up are rare on purpose: each costs ~0.6 s of scrypt CPU on this 2-core machine (measured), so a
 * few per second saturate the login cell and the drill would measure its own overload.
 */
export const MIX = {
  signin: 0.01,
  signup: 0.005,
  me: 0.205,
  transfer: 0.24,
  balance: 0.1,
  send: 0.28,
  read: 0.16,
} as const;

interface PendingTransfer {
  key: string;
  user: DrillUser;
  to: string;
  amount: number;
}
interface PendingMessage {
  id: string;
  user: DrillUser;
  room: string;
}

/** A write that got no definite answer (no response, 5xx) is retried with its id; 4xx are answers. */
function needsRetry(record: RequestRecord): boolean {
  return record.status === 0 || record.status >= 500;
}

export function workload(
  client: RecordingClient,
  state: WorkloadState,
  totalRatePerSec: number,
): ArrivalSpec[] {
  const { random, users, rooms } = state;
  const retryTransfers: PendingTransfer[] = [];
  const retryMessages: PendingMessage[] = [];
  const retrySignups: string[] = [];
  let signupSeq = 0;
  let revokeSeq = 0;
  const auth = (u: DrillUser) => ({ authorization: `Bearer ${u.accessToken}` });
  const rate = (share: number) => totalRatePerSec * share;

  return [
    {
      name: 'signin',
      ratePerSec: rate(MIX.signin),
      iterate: async () => {
        const user = pick(random, users);
        const { body, record } = await client.call({
          service: 'login',
          op: 'signin',
          ...API.login.signin,
          okStatuses: API.login.signin.ok,
          body: { username: user.username, password: user.password },
        });
        const { accessToken, refreshToken } = (body ?? {}) as Record<string, unknown>;
        if (!record.ok || typeof accessToken !== 'string' || typeof refreshToken !== 'string') return;
        if (state.sessions.length < REVOCABLE_SESSIONS) state.sessions.push({ accessToken, refreshToken });
        else user.accessToken = accessToken;
      },
    },
    {
      name: 'revoke',
      ratePerSec: rate(REVOKE_SHARE),
      iterate: async () => {
        const session = state.sessions.shift();
        if (!session) return; // none yet: the next sign-in brings one
        const writeId = `${state.runTag}-r${revokeSeq++}`;
        // Sign out now and then, while sessions remain to rotate; otherwise rotate.
        if (state.sessions.length > 0 && random() < 0.3) {
          const { record } = await client.call({
            service: 'login',
            op: 'revoke',
            ...API.login.signout,
            okStatuses: API.login.signout.ok,
            headers: { authorization: `Bearer ${session.accessToken}` },
            writeId,
            detail: { kind: 'signout' },
          });
          // without an answer the sign-out may or may not have happened: the session is not used again
          if (record.ok) state.revocations.push({ kind: 'signout', writeId, ...session });
          return;
        }
        const { body, record } = await client.call({
          service: 'login',
          op: 'revoke',
          ...API.login.refresh,
          okStatuses: API.login.refresh.ok,
          body: { refreshToken: session.refreshToken },
          writeId,
          detail: { kind: 'rotation' },
        });
        const next = (body ?? {}) as Record<string, unknown>;
        // Without an answer the rotation may have happened: presenting the old token again would trip
        // reuse detection, so the session is dropped.
        if (!record.ok || typeof next.accessToken !== 'string' || typeof next.refreshToken !== 'string')
          return;
        state.revocations.push({ kind: 'rotation', writeId, refreshToken: session.refreshToken });
        state.sessions.push({ accessToken: next.accessToken, refreshToken: next.refreshToken });
      },
    },
    {
      name: 'signup',
      ratePerSec: rate(MIX.signup),
      iterate: async () => {
        const username = retrySignups.shift() ?? `${state.runTag}-n${signupSeq++}`;
        const { record } = await client.call({
          service: 'login',
          op: 'signup',
          ...API.login.signup,
          okStatuses: API.login.signup.ok,
          writeId: username,
          body: { username, password: passwordFor(state.passwordSecret, username) },
        });
        if (needsRetry(record)) retrySignups.push(username);
      },
    },
    {
      name: 'me',
      ratePerSec: rate(MIX.me - REVOKE_SHARE),
      iterate: async () => {
        const user = pick(random, users);
        await client.call({
          service: 'login',
          op: 'me',
          ...API.login.me,
          okStatuses: API.login.me.ok,
          headers: auth(user),
        });
      },
    },
    {
      name: 'transfer',
      ratePerSec: rate(MIX.transfer),
      iterate: async () => {
        const retry = retryTransfers.shift();
        const transfer = retry ?? newTransfer();
        const { record } = await client.call({
          service: 'payments',
          op: 'transfer',
          method: 'POST',
          path: API.payments.transfer.path,
          okStatuses: API.payments.transfer.ok,
          headers: { ...auth(transfer.user), [IDEMPOTENCY_KEY_HEADER]: transfer.key },
          writeId: transfer.key,
          body: { from: transfer.user.accountId, to: transfer.to, amount: transfer.amount },
          detail: {
            user: transfer.user.index,
            from: transfer.user.accountId,
            to: transfer.to,
            amount: transfer.amount,
            retry: retry ? 1 : 0,
          },
        });
        if (needsRetry(record)) retryTransfers.push(transfer);
      },
    },
    {
      name: 'balance',
      ratePerSec: rate(MIX.balance),
      iterate: async () => {
        const user = pick(random, users);
        await client.call({
          service: 'payments',
          op: 'balance',
          method: 'GET',
          path: API.payments.account(user.accountId),
          okStatuses: API.payments.balanceOk,
          headers: auth(user),
        });
      },
    },
    {
      name: 'send',
      ratePerSec: rate(MIX.send),
      iterate: async () => {
        const retry = retryMessages.shift();
        const message = retry ?? { id: randomUUID(), user: pick(random, users), room: pick(random, rooms) };
        const { record } = await client.call({
          service: 'messaging',
          op: 'send',
          method: 'POST',
          path: API.messaging.post(message.room),
          okStatuses: API.messaging.postOk,
          headers: auth(message.user),
          writeId: message.id,
          body: { id: message.id, body: `drill ${state.runTag} from ${message.user.username}` },
          detail: { room: message.room, user: message.user.index, retry: retry ? 1 : 0 },
        });
        if (needsRetry(record)) retryMessages.push(message);
      },
    },
    {
      name: 'read',
      ratePerSec: rate(MIX.read),
      iterate: async () => {
        const user = pick(random, users);
        await client.call({
          service: 'messaging',
          op: 'read',
          method: 'GET',
          path: API.messaging.list(pick(random, rooms)),
          okStatuses: API.messaging.listOk,
          headers: auth(user),
        });
      },
    },
  ];

  function newTransfer(): PendingTransfer {
    const user = pick(random, users);
    let to = pick(random, users);
    if (to === user) to = users[(user.index + 1) % users.length]!;
    return {
      key: `${state.runTag}-t-${randomUUID()}`,
      user,
      to: to.accountId,
      amount: 1 + Math.floor(random() * 20),
    };
  }
}

/** Throwaway drill users' passwords: derived from a per-run in-memory secret, never written anywhere. */
export function passwordFor(secret: string, username: string): string {
  return createHash('sha256').update(`${secret}:${username}`).digest('base64url').slice(0, 24);
}
