import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, isRunning, processFamily, waitUntil } from '../src/process';
import { startTestDataTier, type TestDataTier } from '../src/test-data-tier';

describe('startTestDataTier (payments: sync standby)', () => {
  let tier: TestDataTier;

  beforeAll(async () => {
    tier = await startTestDataTier({ service: 'payments', standby: true });
  });
  afterAll(async () => {
    await tier?.stop();
  });

  it('gives cells the contract roles: app owns the service database and may promote', async () => {
    const client = new pg.Client({ connectionString: tier.primary.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT current_user AS who, has_function_privilege('pg_promote(boolean, integer)', 'execute') AS can_promote,
                pg_has_role('pg_monitor', 'member') AS monitor, current_setting('synchronous_standby_names') AS sync`,
      );
      expect(rows[0]).toEqual({ who: 'app', can_promote: true, monitor: true, sync: '"dc-b"' });
    } finally {
      await client.end();
    }
  });

  it('streams a row written on the primary (sync commit) to the standby', async () => {
    const marker = `row-${Date.now()}`;
    const primary = new pg.Client({ connectionString: tier.primary.databaseUrl });
    await primary.connect();
    try {
      await primary.query('CREATE TABLE IF NOT EXISTS probe (v text)');
      await primary.query('SET synchronous_commit = on');
      await primary.query('INSERT INTO probe VALUES ($1)', [marker]);
    } finally {
      await primary.end();
    }
    const standby = new pg.Client({ connectionString: tier.standby!.databaseUrl });
    await standby.connect();
    try {
      await waitUntil(
        'row on the standby',
        async () => (await standby.query('SELECT 1 FROM probe WHERE v = $1', [marker])).rowCount === 1,
        5_000,
      );
      const { rows } = await standby.query('SELECT pg_is_in_recovery() AS r');
      expect(rows[0].r).toBe(true);
    } finally {
      await standby.end();
    }
    const replication = await tier.primary.query(
      'SELECT application_name, sync_state FROM pg_stat_replication',
    );
    expect(replication).toEqual([{ application_name: 'dc-b', sync_state: 'sync' }]);
  });

  it('replicates a Redis key to the replica', async () => {
    const master = new Redis(tier.primary.redisUrl);
    const replica = new Redis(tier.standby!.redisUrl);
    try {
      await master.set('probe', 'hello');
      await waitUntil('key on the replica', async () => (await replica.get('probe')) === 'hello', 5_000);
      expect(await replica.call('ROLE').then((r) => (r as unknown[])[0])).toBe('slave');
    } finally {
      master.disconnect();
      replica.disconnect();
    }
  });

  it('stop() leaves no process and no state dir behind', async () => {
    const leaders = [tier.primary, tier.standby!].flatMap((c) => [c.pgPid, c.redisPid]);
    const { stateDir } = tier;
    expect(leaders.every(isAlive)).toBe(true);
    const everything = leaders.flatMap(processFamily);
    expect(everything.length).toBeGreaterThan(leaders.length); // postmasters' backends and workers
    await tier.stop();
    expect(everything.filter(isRunning)).toEqual([]);
    expect(existsSync(stateDir)).toBe(false);
  });
});

describe('startTestDataTier (login: primary only)', () => {
  it('starts an async primary without synchronous standby names', async () => {
    const tier = await startTestDataTier({ service: 'login' });
    try {
      expect(tier.standby).toBeUndefined();
      const rows = await tier.primary.query(`SELECT current_setting('synchronous_standby_names') AS sync`);
      expect(rows[0]!.sync).toBe('');
    } finally {
      await tier.stop();
    }
  });
});
