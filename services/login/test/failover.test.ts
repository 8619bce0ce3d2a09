// Failover on a real primary/standby pair: dc-a frozen (SIGSTOP), dc-b promoted through the admin API
// takes writes and honours dc-a's tokens; dc-a thawed refuses writes carrying the new epoch.

import type { TestSigner } from '@failover-lab/cell-kit/testing';
import { type TestDataTier, waitUntil } from '@failover-lab/lab/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestLoginCell,
  createTestSigner,
  PASSWORD,
  rowCounts,
  startTier,
  uniqueUsername,
} from './helpers';

let tier: TestDataTier;
let signer: TestSigner;
let dcA: FastifyInstance;
let dcB: FastifyInstance;
let frozen = false;
let receiverPid: number | undefined;

beforeAll(async () => {
  tier = await startTier({ service: 'login', standby: true });
  signer = await createTestSigner();
  dcA = await buildTestLoginCell(tier, tier.primary, signer);
  // the standby needs the schema before its cell starts (migrations run on the primary only)
  await waitFor(
    'the users table on the standby',
    async () => (await tier.standby!.query("SELECT to_regclass('users') AS t"))[0]!.t !== null,
  );
  dcB = await buildTestLoginCell(tier, tier.standby!, signer);
});
afterAll(async () => {
  if (frozen) tier.primary.kill('SIGCONT');
  if (receiverPid !== undefined) process.kill(receiverPid, 'SIGCONT');
  await Promise.allSettled([dcA?.close(), dcB?.close()]);
  await tier?.stop();
});

// the lab's poller: waits for replication without a fixed sleep
const waitFor = (what: string, check: () => Promise<boolean>) => waitUntil(what, check, 15_000);

const json = (res: { body: string }) => JSON.parse(res.body);
const admin = () => ({ authorization: `Bearer ${tier.secrets.adminToken}` });
const signUp = (app: FastifyInstance, username: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/login/users', headers, payload: { username, password: PASSWORD } });

describe('revocations wait for the standby, so a failover cannot undo them', () => {
  const settledFlag = <T>(p: Promise<T>) => {
    const flag = { settled: false };
    void p.then(
      () => (flag.settled = true),
      () => (flag.settled = true),
    );
    return flag;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const signIn = async (username: string) => {
    const res = await dcA.inject({
      method: 'POST',
      url: '/login/sessions',
      payload: { username, password: PASSWORD },
    });
    expect(res.statusCode, res.body).toBe(201);
    return json(res) as { accessToken: string; refreshToken: string };
  };

  it('a sign-out and a refresh rotation are acknowledged only once the standby has them; a sign-in is not held', async () => {
    const username = uniqueUsername('rev');
    expect((await signUp(dcA, username)).statusCode).toBe(201);
    const signedOut = await signIn(username);
    const rotated = await signIn(username);
    const state = async () => json(await dcA.inject({ url: '/admin/state', headers: admin() }));
    expect((await state()).synchronousStandbyNames).toBe('"dc-b"');

    // The standby's WAL receiver stops (its app and Postgres still answer): what a cut replication
    // link looks like from the primary, and the window in which a local commit could be lost.
    const [row] = await tier.standby!.query<{ pid: number }>('SELECT pid FROM pg_stat_wal_receiver');
    receiverPid = row!.pid;
    process.kill(receiverPid, 'SIGSTOP');
    try {
      // not a revocation: committed locally, answered while the standby hears nothing
      await signIn(username);
      const signOut = dcA.inject({
        method: 'DELETE',
        url: '/login/sessions/current',
        headers: { authorization: `Bearer ${signedOut.accessToken}` },
      });
      const rotate = dcA.inject({
        method: 'POST',
        url: '/login/sessions/refresh',
        payload: { refreshToken: rotated.refreshToken },
      });
      const signOutFlag = settledFlag(signOut);
      const rotateFlag = settledFlag(rotate);
      await sleep(1_500);
      expect(signOutFlag.settled, 'a sign-out acknowledged without the standby').toBe(false);
      expect(rotateFlag.settled, 'a refresh rotation acknowledged without the standby').toBe(false);
      // the router sees the wait (readiness syncWaitMs) and degrades login past policy.syncStallMs
      expect((await state()).syncWaitMs).toBeGreaterThanOrEqual(1_000);

      process.kill(receiverPid, 'SIGCONT');
      receiverPid = undefined;
      expect((await signOut).statusCode).toBe(204);
      expect((await rotate).statusCode).toBe(200);
    } finally {
      if (receiverPid !== undefined) process.kill(receiverPid, 'SIGCONT');
      receiverPid = undefined;
    }
    // acknowledged means on the standby: a promoted dc-b refuses both old credentials
    await waitFor('the revocations on the standby', async () => {
      const [r] = await tier.standby!.query<{ revoked: boolean; rotated: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM session_families f JOIN users u ON u.id = f.user_id
                         WHERE u.username = $1 AND f.revoked_reason = 'signed_out') AS revoked,
                EXISTS (SELECT 1 FROM refresh_tokens t JOIN users u ON u.id = t.user_id
                         WHERE u.username = $1 AND t.rotated_at IS NOT NULL) AS rotated`,
        [username],
      );
      return r!.revoked && r!.rotated;
    });
  }, 60_000);
});

describe('failover dc-a → dc-b (login)', () => {
  it('promotes dc-b, which takes writes; thawed dc-a refuses writes with the new epoch', async () => {
    const early = uniqueUsername('early');
    expect((await signUp(dcA, early)).statusCode).toBe(201);
    const signIn = await dcA.inject({
      method: 'POST',
      url: '/login/sessions',
      payload: { username: early, password: PASSWORD },
    });
    const { accessToken } = json(signIn);

    // Before promotion dc-b is a standby: it refuses writes, nothing reaches its Postgres.
    const onStandby = await signUp(dcB, uniqueUsername());
    expect(onStandby.statusCode).toBe(503);
    expect(json(onStandby).error.code).toBe('LOGIN_ERR_FENCED');

    await waitFor(
      'the early sign-up on the standby',
      async () =>
        (await tier.standby!.query('SELECT 1 FROM users WHERE username = $1', [early])).length === 1,
    );
    const { epoch: oldEpoch } = json(
      await dcB.inject({ method: 'GET', url: '/admin/state', headers: admin() }),
    );
    const newEpoch = Number(oldEpoch) + 1;

    tier.primary.kill('SIGSTOP'); // dc-a hangs without closing connections, like a partition
    frozen = true;
    const promote = await dcB.inject({
      method: 'POST',
      url: '/admin/promote',
      headers: admin(),
      payload: { epoch: newEpoch },
    });
    expect(promote.statusCode, promote.body).toBe(200);
    expect(json(promote)).toMatchObject({ role: 'primary', epoch: newEpoch });

    const epochHeader = { 'x-failover-epoch': String(newEpoch) };
    const late = uniqueUsername('late');
    expect((await signUp(dcB, late, epochHeader)).statusCode).toBe(201);
    // A user made in dc-a before the failover signs in at dc-b; dc-a's access token is valid there.
    const signInB = await dcB.inject({
      method: 'POST',
      url: '/login/sessions',
      headers: epochHeader,
      payload: { username: early, password: PASSWORD },
    });
    expect(signInB.statusCode).toBe(201);
    const meB = await dcB.inject({
      method: 'GET',
      url: '/login/me',
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(meB.statusCode).toBe(200);
    expect(json(meB).username).toBe(early);

    tier.primary.kill('SIGCONT');
    frozen = false;
    const before = await rowCounts(tier.primary);
    const stale = await signUp(dcA, uniqueUsername('stale'), epochHeader);
    expect(stale.statusCode).toBe(503);
    expect(json(stale).error.code).toBe('LOGIN_ERR_FENCED');
    const staleSignIn = await dcA.inject({
      method: 'POST',
      url: '/login/sessions',
      headers: epochHeader,
      payload: { username: early, password: PASSWORD },
    });
    expect(staleSignIn.statusCode).toBe(503);
    // Once the controller fences dc-a, even writes without an epoch header are refused.
    await dcA.inject({ method: 'POST', url: '/admin/fence', headers: admin(), payload: { epoch: newEpoch } });
    expect((await signUp(dcA, uniqueUsername('nohdr'))).statusCode).toBe(503);
    expect(await rowCounts(tier.primary)).toEqual(before);
  });
});
