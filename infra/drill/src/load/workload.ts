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

export interface WorkloadState {
  runTag: string;
  users: DrillUser[];
  rooms: string[];
  random: Random;
  /** random per run, kept in memory only: drill users' passwords derive from it */
  passwordSecret: string;
}

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
        const token = (body as { accessToken?: unknown } | null)?.accessToken;
        if (record.ok && typeof token === 'string') user.accessToken = token;
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
      ratePerSec: rate(MIX.me),
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
