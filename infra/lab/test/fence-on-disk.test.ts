// What the lab reads from a data directory at boot and at restore: the fence marker a cell left there
// (a node that carries one keeps the app role's writes revoked, whatever happened to the grants) and
// the timeline (restore never rebuilds a node from a source on an older timeline).

import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enforceFenceOnDisk, fenceEpochOnDisk, timelineOnDisk } from '../src/datastores/postgres';
import { startTestDataTier, type TestDataTier } from '../src/testing';

let tier: TestDataTier;

beforeAll(async () => {
  tier = await startTestDataTier({ service: 'messaging', standby: true });
});

afterAll(async () => {
  await tier?.stop();
});

async function asApp(sql: string): Promise<string> {
  const client = new pg.Client({ connectionString: tier.primary.databaseUrl });
  await client.connect();
  try {
    await client.query(sql);
    return 'ok';
  } catch (err) {
    return (err as { code: string }).code;
  } finally {
    await client.end();
  }
}

describe('the data directory at boot', () => {
  it('a node without a fence marker is left alone', async () => {
    expect(await asApp('CREATE TABLE boot_probe (x int)')).toBe('ok');
    expect(fenceEpochOnDisk(tier.primary.postgres)).toBeNull();
    expect(await enforceFenceOnDisk(tier.primary.postgres)).toBeNull();
    expect(await asApp('INSERT INTO boot_probe VALUES (1)')).toBe('ok');
  });

  it('a node whose marker says fenced has the app role’s writes revoked again', async () => {
    // what ALTER SYSTEM SET failover_lab.fenced_epoch = '3' leaves (the cell's fence)
    appendFileSync(
      join(tier.primary.postgres.dataDir, 'postgresql.auto.conf'),
      "failover_lab.fenced_epoch = '3'\n",
    );
    expect(fenceEpochOnDisk(tier.primary.postgres)).toBe(3);
    expect(await enforceFenceOnDisk(tier.primary.postgres)).toBe(3);
    expect(await asApp('INSERT INTO boot_probe VALUES (2)')).toBe('42501');
    expect(await asApp('UPDATE boot_probe SET x = 5')).toBe('42501');
    expect(await asApp('DELETE FROM boot_probe')).toBe('42501');
  });

  it('reads each data directory’s timeline, running or not', async () => {
    expect(await timelineOnDisk(tier.primary.postgres)).toBe(1);
    expect(await timelineOnDisk(tier.standby!.postgres)).toBe(1);
    tier.primary.kill('SIGKILL');
    await tier.standby!.query('SELECT pg_promote(true, 30)');
    await tier.standby!.query('CHECKPOINT');
    expect(await timelineOnDisk(tier.standby!.postgres)).toBe(2);
    expect(await timelineOnDisk(tier.primary.postgres)).toBe(1);
  });
});
