// Failover on a real primary/standby pair: dc-a frozen (SIGSTOP), dc-b promoted through the admin API
// takes posts and serves dc-a's replicated messages; dc-a thawed refuses posts carrying the new epoch.

import { randomUUID } from 'node:crypto';
import type { TestSigner } from '@failover-lab/cell-kit/testing';
import { type TestDataTier, waitUntil } from '@failover-lab/lab/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestMessagingCell, createTestSigner, messageCount, startTier, uniqueRoom } from './helpers';

let tier: TestDataTier;
let signer: TestSigner;
let dcA: FastifyInstance;
let dcB: FastifyInstance;
let token: string;
let frozen = false;

beforeAll(async () => {
  tier = await startTier({ service: 'messaging', standby: true });
  signer = await createTestSigner();
  token = await signer.sign('failover-user');
  dcA = await buildTestMessagingCell(tier, tier.primary, signer);
  await waitFor(
    'the messages table on the standby',
    async () => (await tier.standby!.query("SELECT to_regclass('messages') AS t"))[0]!.t !== null,
  );
  dcB = await buildTestMessagingCell(tier, tier.standby!, signer);
});
afterAll(async () => {
  if (frozen) tier.primary.kill('SIGCONT');
  await Promise.allSettled([dcA?.close(), dcB?.close()]);
  await tier?.stop();
});

// the lab's poller: waits for replication without a fixed sleep
const waitFor = (what: string, check: () => Promise<boolean>) => waitUntil(what, check, 15_000);

const json = (res: { body: string }) => JSON.parse(res.body);
const admin = () => ({ authorization: `Bearer ${tier.secrets.adminToken}` });
const post = (app: FastifyInstance, room: string, id: string, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: `/messaging/rooms/${room}/messages`,
    headers: { authorization: `Bearer ${token}`, ...headers },
    payload: { id, body: `message ${id}` },
  });

describe('failover dc-a → dc-b (messaging)', () => {
  it('promotes dc-b, which takes posts; thawed dc-a refuses posts with the new epoch', async () => {
    const room = uniqueRoom();
    const early = randomUUID();
    expect((await post(dcA, room, early)).statusCode).toBe(201);

    const onStandby = await post(dcB, room, randomUUID());
    expect(onStandby.statusCode).toBe(503);
    expect(json(onStandby).error.code).toBe('MSG_ERR_FENCED');

    await waitFor(
      'the early message on the standby',
      async () => (await tier.standby!.query('SELECT 1 FROM messages WHERE id = $1', [early])).length === 1,
    );
    const { epoch: oldEpoch } = json(
      await dcB.inject({ method: 'GET', url: '/admin/state', headers: admin() }),
    );
    const newEpoch = Number(oldEpoch) + 1;

    tier.primary.kill('SIGSTOP');
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
    const late = randomUUID();
    expect((await post(dcB, room, late, epochHeader)).statusCode).toBe(201);
    // The client's retry of the pre-failover message is recognised in the new region (200, not a copy).
    expect((await post(dcB, room, early, epochHeader)).statusCode).toBe(200);
    const page = json(
      await dcB.inject({
        method: 'GET',
        url: `/messaging/rooms/${room}/messages`,
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    expect(page.messages.map((m: { id: string }) => m.id)).toEqual([early, late]);

    tier.primary.kill('SIGCONT');
    frozen = false;
    const before = await messageCount(tier.primary);
    const stale = await post(dcA, room, randomUUID(), epochHeader);
    expect(stale.statusCode).toBe(503);
    expect(json(stale).error.code).toBe('MSG_ERR_FENCED');
    await dcA.inject({ method: 'POST', url: '/admin/fence', headers: admin(), payload: { epoch: newEpoch } });
    expect((await post(dcA, room, randomUUID())).statusCode).toBe(503);
    expect(await messageCount(tier.primary)).toBe(before);
  });
});
