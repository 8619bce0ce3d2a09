// A primary the router cannot reach cannot be told it was replaced. The router's probes grant it a
// lease (docs/fencing.md, "The lease"); once the lease runs out without a renewal the cell fences
// itself the way the router's fence does: writes refused at once, and in its Postgres (grants revoked,
// marker in postgresql.auto.conf). A promotion at its epoch (the router's claim) lifts it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEADLINE_HEADER, EPOCH_HEADER, LEASE_HEADER } from '@failover-lab/contracts';
import { startTestDataTier, type TestDataTier } from '@failover-lab/lab/testing';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSigner, type TestSigner, testCellConfig } from '../src/testing';
import { buildProbeCell } from './fixtures/probe-service';

let tier: TestDataTier;
let signer: TestSigner;
let cell: FastifyInstance;

beforeAll(async () => {
  tier = await startTestDataTier({ service: 'messaging' });
  signer = await createTestSigner();
  cell = await buildProbeCell(
    testCellConfig({
      service: 'messaging',
      stores: tier.primary,
      adminToken: tier.secrets.adminToken,
      jwks: signer.jwks,
    }),
  );
});

afterAll(async () => {
  await cell?.close();
  await tier?.stop();
});

const write = async () =>
  cell.inject({
    method: 'POST',
    url: '/probe/items',
    headers: { authorization: `Bearer ${await signer.sign('user-1')}` },
    payload: { value: 'lease-test' },
  });

/** A probe as the router sends it: its epoch, the lease, and its own deadline. */
const probe = async (epoch: number, leaseMs: number, deadline: number) =>
  (
    await cell.inject({
      url: '/health/ready',
      headers: {
        [EPOCH_HEADER]: String(epoch),
        [LEASE_HEADER]: String(leaseMs),
        [DEADLINE_HEADER]: String(deadline),
      },
    })
  ).json();

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

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the lease', () => {
  let epoch: number;

  it('is granted only by a probe at the cell’s epoch that arrives before its deadline', async () => {
    epoch = (await cell.inject('/health/ready')).json().epoch;
    expect((await probe(epoch + 1, 60_000, Date.now() + 500)).leaseUntil).toBeUndefined(); // a newer epoch: replaced
    expect((await probe(epoch, 60_000, Date.now() - 1)).leaseUntil).toBeUndefined(); // held back past its deadline
    const granted = await probe(epoch, 800, Date.now() + 500);
    expect(Date.parse(granted.leaseUntil)).toBeGreaterThan(Date.now() + 500);
    expect((await write()).statusCode).toBe(201);
  });

  it('runs out without a renewal: the cell fences itself, in the app and in its Postgres', async () => {
    const fenced = await until('the cell fenced itself', async () => {
      const ready = (await cell.inject('/health/ready')).json();
      return ready.fenced ? ready : undefined;
    });
    expect(fenced).toMatchObject({ role: 'fenced', fenced: true, epoch });
    expect(fenced.selfFencedAt).toBeDefined();
    const res = await write();
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('PROBE_ERR_FENCED');
    // the data tier follows a moment later: no direct caller or background job can commit either
    expect(
      await until('writes revoked', async () => ((await directWrite()) === '42501' ? true : undefined)),
    ).toBe(true);
    const autoConf = readFileSync(join(tier.primary.postgres.dataDir, 'postgresql.auto.conf'), 'utf8');
    expect(autoConf).toMatch(new RegExp(`^failover_lab\\.fenced_epoch = '${epoch}'$`, 'm'));
    // a late probe does not unfence it: only a promotion does
    expect((await probe(epoch, 60_000, Date.now() + 500)).fenced).toBe(true);
  });

  it('a promotion at its epoch (the router claiming it back) lifts the self-fence', async () => {
    const res = await cell.inject({
      method: 'POST',
      url: '/admin/promote',
      headers: { authorization: `Bearer ${tier.secrets.adminToken}` },
      payload: { epoch },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect((await write()).statusCode).toBe(201);
    expect(await directWrite()).toBe('committed');
  });
});
