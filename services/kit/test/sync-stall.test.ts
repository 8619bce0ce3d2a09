// A broken replication link is visible on the primary: with the sync standby's WAL receiver stopped
// (SIGSTOP: its app and Postgres still answer), a synchronous commit waits forever, and the primary's
// readiness says for how long (`syncWaitMs`, from pg_stat_activity's SyncRep waits). The router
// degrades the service to async past its bound (decide(): syncStall); dropping the standby from
// synchronous_standby_names releases the waiting commit. Sync may come back only once the standby's
// confirmed flush position passes where the primary was at the degrade: never while the link is cut.

import { startTestDataTier, type TestDataTier } from '@failover-lab/lab/testing';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSigner, testCellConfig } from '../src/testing';
import { buildProbeCell } from './fixtures/probe-service';

let tier: TestDataTier;
let primary: FastifyInstance;
let receiverPid: number | undefined;

beforeAll(async () => {
  tier = await startTestDataTier({ service: 'payments', standby: true });
  const signer = await createTestSigner();
  primary = await buildProbeCell(
    testCellConfig({
      service: 'payments',
      stores: tier.primary,
      adminToken: tier.secrets.adminToken,
      jwks: signer.jwks,
    }),
  );
});

afterAll(async () => {
  if (receiverPid !== undefined) process.kill(receiverPid, 'SIGCONT');
  await primary?.close();
  await tier?.stop();
});

const admin = () => ({ authorization: `Bearer ${tier.secrets.adminToken}` });
const state = async () => (await primary.inject({ url: '/admin/state', headers: admin() })).json();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** a Postgres LSN ("16/B374D848") as a comparable number; -1 when absent */
const lsn = (value: string | null | undefined) => {
  const m = /^([0-9A-F]+)\/([0-9A-F]+)$/i.exec(value ?? '');
  return m ? Number((BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`)) : -1;
};

describe('a stalled sync standby, seen from the primary', () => {
  it('reports how long the oldest sync commit has waited; dropping the standby releases it', async () => {
    const healthy = await state();
    expect(healthy.synchronousStandbyNames).toBe('"dc-b"');
    expect(healthy.syncWaitMs).toBeNull();
    expect(healthy.standbys[0]).toMatchObject({ name: 'dc-b', syncState: 'sync' });
    expect(healthy.standbys[0].replyAgeMs).toEqual(expect.any(Number));

    const client = new pg.Client({ connectionString: tier.primary.databaseUrl });
    client.on('error', () => {}); // the tier stops under it if the test fails
    await client.connect();
    // while the standby still confirms: this commit is synchronous too
    await client.query('CREATE TABLE IF NOT EXISTS stall_probe (x int)');
    const [row] = await tier.standby!.query<{ pid: number }>('SELECT pid FROM pg_stat_wal_receiver');
    receiverPid = row!.pid;
    process.kill(receiverPid, 'SIGSTOP');
    try {
      const commit = client.query('SET synchronous_commit = on; INSERT INTO stall_probe VALUES (1)');
      let settled = false;
      void commit.then(
        () => (settled = true),
        () => (settled = true),
      );
      await sleep(1_500);
      expect(settled).toBe(false); // a sync commit without its standby hangs
      const stalled = await state();
      expect(stalled.syncWaitMs).toBeGreaterThanOrEqual(1_000);

      // what the router does past syncStallMs (degrade_async): the commit is released at once
      const degraded = await primary.inject({
        method: 'POST',
        url: '/admin/sync',
        headers: admin(),
        payload: { standbys: [] },
      });
      expect(degraded.statusCode).toBe(200);
      await commit;
      const released = await state();
      expect(released.syncWaitMs).toBeNull();

      // The evidence sync may come back on (decide(): canRestoreSync): the standby's confirmed flush
      // position passes where the primary was at the degrade. On the still-cut link it does not, though
      // the row still reads "streaming" and the primary goes on committing.
      const mark = lsn(released.walLsn);
      expect(released.standbys[0]).toMatchObject({ name: 'dc-b', state: 'streaming' });
      await client.query('INSERT INTO stall_probe VALUES (2)');
      await sleep(1_000);
      const cut = (await state()).standbys[0];
      expect(lsn(cut.flushLsn)).toBeLessThan(mark);
      process.kill(receiverPid, 'SIGCONT');
      receiverPid = undefined;
      const deadline = Date.now() + 15_000;
      let flushed = lsn(cut.flushLsn);
      while (flushed < mark && Date.now() < deadline) {
        await sleep(100);
        flushed = lsn((await state()).standbys[0]?.flushLsn);
      }
      expect(flushed).toBeGreaterThanOrEqual(mark);
    } finally {
      if (receiverPid !== undefined) process.kill(receiverPid, 'SIGCONT');
      receiverPid = undefined;
      await client.end();
    }
  }, 60_000);
});
