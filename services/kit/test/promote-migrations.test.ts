// A standby whose app runs newer code than the primary (a rolling deploy caught by a failover) applies
// its own migrations when it is promoted, before it is declared writable: the old primary never had
// them, so replication could not bring them.

import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestDataTier, type TestDataTier } from '@failover-lab/lab/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSigner, testCellConfig } from '../src/testing';
import { buildProbeCell } from './fixtures/probe-service';

let tier: TestDataTier;
let dcA: FastifyInstance;
let dcB: FastifyInstance;
let newerMigrations: string;

beforeAll(async () => {
  tier = await startTestDataTier({ service: 'messaging', standby: true });
  const signer = await createTestSigner();
  const configFor = (stores: NonNullable<TestDataTier['standby']>) =>
    testCellConfig({ service: 'messaging', stores, adminToken: tier.secrets.adminToken, jwks: signer.jwks });
  // dc-b's code: the fixture's 001 plus a 002 that dc-a's code does not have
  newerMigrations = mkdtempSync(join(tmpdir(), 'flab-migrations-'));
  copyFileSync(
    fileURLToPath(new URL('./fixtures/migrations/001_probe.sql', import.meta.url)),
    join(newerMigrations, '001_probe.sql'),
  );
  writeFileSync(
    join(newerMigrations, '002_probe_tags.sql'),
    'CREATE TABLE probe_tags (tag text PRIMARY KEY);\n',
  );
  dcA = await buildProbeCell(configFor(tier.primary));
  dcB = await buildProbeCell(configFor(tier.standby!), { migrationsDir: newerMigrations });
});

afterAll(async () => {
  await dcA?.close();
  await dcB?.close();
  await tier?.stop();
  if (newerMigrations) rmSync(newerMigrations, { recursive: true, force: true });
});

const migrationsOn = async (stores: NonNullable<TestDataTier['standby']>) =>
  (await stores.query('SELECT name FROM schema_migrations ORDER BY name')).map((r) => String(r.name));

const promoteDcB = (epoch: number) =>
  dcB.inject({
    method: 'POST',
    url: '/admin/promote',
    headers: { authorization: `Bearer ${tier.secrets.adminToken}` },
    payload: { epoch },
  });

describe('promotion of a standby running newer code', () => {
  it('applies the migrations the old primary never had, then serves writes', async () => {
    expect(await migrationsOn(tier.primary)).not.toContain('messaging/002_probe_tags.sql');
    // a standby keeps its app pool open ahead of a failover, though nothing is sent to it, and its admin
    // pool too: the promotion's own statements find their sessions open
    const pool = dcB.pg;
    await expect.poll(() => pool.idleCount, { timeout: 8_000 }).toBe(pool.options.max);
    await expect.poll(() => dcB.adminPool.idleCount, { timeout: 8_000 }).toBe(dcB.adminPool.options.max);
    tier.primary.kill('SIGKILL');
    const res = await promoteDcB(1);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ epoch: 1, wasStandby: true });
    // the lab's standby names no sync standby (its postgresql.auto.conf): nothing to empty, no config reload
    expect(res.json().steps.syncOffMs).toBeUndefined();
    expect(await migrationsOn(tier.standby!)).toContain('messaging/002_probe_tags.sql');
    await tier.standby!.query(`INSERT INTO probe_tags VALUES ('promoted')`);
    expect(await tier.standby!.query('SELECT tag FROM probe_tags')).toEqual([{ tag: 'promoted' }]);
  });

  it("the app pool's connections are open when the held requests arrive, and they take writes", async () => {
    // opened while dc-b was a standby (or by the promotion above); readiness has a pool of its own
    const pool = dcB.pg;
    expect(pool.options.max).toBeGreaterThan(1);
    // opened and handed back, not merely pending (pg counts a connecting client in totalCount)
    await expect.poll(() => pool.idleCount, { timeout: 8_000 }).toBe(pool.options.max);
    // every one of them, opened while Postgres was in recovery, writes now
    const clients = await Promise.all(Array.from({ length: pool.options.max! }, () => pool.connect()));
    try {
      await Promise.all(clients.map((c, i) => c.query('INSERT INTO probe_tags VALUES ($1)', [`warm-${i}`])));
    } finally {
      for (const c of clients) c.release();
    }
    expect(pool.totalCount).toBe(pool.options.max);
  });

  it('a second promote call at the same epoch applies nothing twice', async () => {
    const res = await promoteDcB(1);
    expect(res.statusCode, res.body).toBe(200);
    const names = await migrationsOn(tier.standby!);
    expect(names.filter((n) => n === 'messaging/002_probe_tags.sql')).toHaveLength(1);
  });
});
