// The fence holds in the data tier, not only in the app's memory: after POST /admin/fence no path can
// commit on the node — a direct caller with the app's credentials, a restarted app — until a
// promotion at an epoch at least the fence's. A fence older than the cell's epoch is refused.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestDataTier, type TestDataTier } from '@failover-lab/lab/testing';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSigner, type TestSigner, testCellConfig } from '../src/testing';
import { buildProbeCell } from './fixtures/probe-service';

let tier: TestDataTier;
let signer: TestSigner;
let cell: FastifyInstance;
const admin = () => ({ authorization: `Bearer ${tier.secrets.adminToken}` });
const build = () =>
  buildProbeCell(
    testCellConfig({
      service: 'messaging',
      stores: tier.primary,
      adminToken: tier.secrets.adminToken,
      jwks: signer.jwks,
    }),
  );

beforeAll(async () => {
  tier = await startTestDataTier({ service: 'messaging' });
  signer = await createTestSigner();
  cell = await build();
});

afterAll(async () => {
  await cell?.close();
  await tier?.stop();
});

const write = async (app: FastifyInstance) =>
  app.inject({
    method: 'POST',
    url: '/probe/items',
    headers: { authorization: `Bearer ${await signer.sign('user-1')}` },
    payload: { value: 'fence-test' },
  });
const adminPost = (app: FastifyInstance, url: string, epoch: number) =>
  app.inject({ method: 'POST', url, headers: admin(), payload: { epoch } });

/** A write as the app role, straight to Postgres (what any direct caller or background job can do). */
async function directWrite(): Promise<string> {
  const client = new pg.Client({ connectionString: tier.primary.databaseUrl });
  await client.connect();
  try {
    await client.query(`INSERT INTO probe_items (value) VALUES ('direct')`);
    return 'committed';
  } catch (err) {
    return (err as { code: string }).code;
  } finally {
    await client.end();
  }
}

const autoConf = () => readFileSync(join(tier.primary.postgres.dataDir, 'postgresql.auto.conf'), 'utf8');

describe('a durable fence', () => {
  it('revokes the app role’s writes and leaves the epoch in the data directory', async () => {
    expect((await write(cell)).statusCode).toBe(201);
    expect(await directWrite()).toBe('committed');
    const res = await adminPost(cell, '/admin/fence', 1);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ fenced: true, epoch: 1, marker: true, grantsRevoked: true });
    expect(await directWrite()).toBe('42501'); // insufficient_privilege
    expect(autoConf()).toMatch(/^failover_lab\.fenced_epoch = '1'$/m);
  });

  it('a restarted app starts fenced: it reads the fence from its Postgres and writes nothing', async () => {
    await cell.close();
    cell = await build();
    const ready = (await cell.inject('/health/ready')).json();
    expect(ready).toMatchObject({ role: 'fenced', fenced: true, epoch: 0 });
    const res = await write(cell);
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('PROBE_ERR_FENCED');
  });

  it('a promotion below the fence epoch is refused; one at it restores the writes', async () => {
    const below = await adminPost(cell, '/admin/promote', 0);
    expect(below.statusCode).toBe(409);
    expect(below.json().error.code).toBe('ADMIN_ERR_STALE_EPOCH');
    expect(await directWrite()).toBe('42501');
    const at = await adminPost(cell, '/admin/promote', 1);
    expect(at.statusCode, at.body).toBe(200);
    expect(await directWrite()).toBe('committed');
    expect((await write(cell)).statusCode).toBe(201);
    expect(autoConf()).not.toMatch(/fenced_epoch/);
    // still unfenced after a few role refreshes (a reload reaches the pool's sessions a moment later)
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await cell.inject('/health/ready')).json()).toMatchObject({ role: 'primary', fenced: false });
  });

  it('a fence with an epoch older than the cell’s is refused with 409 and changes nothing', async () => {
    const res = await adminPost(cell, '/admin/fence', 0);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('ADMIN_ERR_STALE_EPOCH');
    expect((await write(cell)).statusCode).toBe(201);
    expect(await directWrite()).toBe('committed');
  });
});
