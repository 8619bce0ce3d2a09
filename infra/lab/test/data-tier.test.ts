import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPostgresBinDir } from '../src/datastores/postgres';
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

  it('the standby, a copy of the primary’s initdb, is its pair: one system identifier, its slot, the roles and the settings pg_rewind needs replayed', async () => {
    const standby = tier.standby!;
    const systemId = async (c: typeof standby) =>
      (await c.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()'))[0]!.id;
    expect(await systemId(standby)).toBe(await systemId(tier.primary));
    expect(await tier.primary.query('SELECT slot_name, slot_type, active FROM pg_replication_slots')).toEqual(
      [{ slot_name: 'dc_b', slot_type: 'physical', active: true }],
    );
    // created on the primary after the copy was taken: the standby has them by replication only
    const roles = await standby.query(
      `SELECT rolname FROM pg_roles WHERE rolname IN ('app', 'replicator') ORDER BY rolname`,
    );
    expect(roles.map((r) => r.rolname)).toEqual(['app', 'replicator']);
    // the standby's control file carries the primary's settings as replayed, not initdb's
    const control = spawnSync(join(findPostgresBinDir()!, 'pg_controldata'), [standby.postgres.dataDir], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, LC_ALL: 'C' },
    }).stdout;
    expect(control).toMatch(/^wal_log_hints setting:\s+on$/m);
    expect(control).toMatch(/^max_connections setting:\s+100$/m);
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

  // docs/security.md: no local user other than the one running the lab reaches a data store's data.
  describe('every data-store role has a secret', () => {
    const run = (command: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
      spawnSync(command, args, {
        encoding: 'utf8',
        timeout: 10_000,
        env: { PATH: process.env.PATH, ...env },
      });
    const asNobody = (cmd: string) => run('su', ['nobody', '-s', '/bin/sh', '-c', cmd]);
    const onlyRoot = process.getuid?.() === 0;

    it('another local user gets no Postgres session, not through the socket, not over TCP', () => {
      const { socketDir, port, host } = tier.primary.postgres;
      const psql = `psql -w -X -At -p ${port} -U postgres -d postgres -c 'SELECT 1'`;
      expect(statSync(socketDir).mode & 0o777).toBe(0o700);
      if (onlyRoot) {
        const socket = asNobody(`${psql} -h ${socketDir}`);
        expect(socket.status, socket.stdout).not.toBe(0);
        const tcp = asNobody(`${psql} -h ${host}`);
        expect(tcp.status, tcp.stdout).not.toBe(0);
        expect(tcp.stderr).toMatch(/no pg_hba\.conf entry|password/);
      }
      // not even the lab's own OS user without the password: the socket is no longer `trust`
      const mine = run('psql', [
        '-w',
        '-X',
        '-At',
        '-h',
        socketDir,
        '-p',
        String(port),
        '-U',
        'postgres',
        '-c',
        'SELECT 1',
      ]);
      expect(mine.status, mine.stdout).not.toBe(0);
      expect(mine.stderr).toMatch(/password/);
      // with the password from the lab's secrets it works (over the socket only)
      const withPassword = run(
        'psql',
        ['-w', '-X', '-At', '-h', socketDir, '-p', String(port), '-U', 'postgres', '-c', 'SELECT 1'],
        { PGPASSWORD: tier.primary.postgres.superuserPassword },
      );
      expect(withPassword.stdout.trim(), withPassword.stderr).toBe('1');
    });

    it('Redis answers nothing without its password, on the master and the replica', () => {
      for (const node of [tier.primary.redis, tier.standby!.redis]) {
        const set = run('redis-cli', ['-h', node.host, '-p', String(node.port), 'SET', 'forged', '1']);
        expect(`${set.stdout}${set.stderr}`).toMatch(/NOAUTH/);
        const wrong = run('redis-cli', [
          '-h',
          node.host,
          '-p',
          String(node.port),
          '--no-auth-warning',
          '-a',
          'guess',
          'PING',
        ]);
        expect(`${wrong.stdout}${wrong.stderr}`).toMatch(/WRONGPASS|invalid password/i);
        // no password on any command line (ps shows argv to every local user)
        const argv = readFileSync(
          `/proc/${node === tier.primary.redis ? tier.primary.redisPid : tier.standby!.redisPid}/cmdline`,
          'utf8',
        );
        expect(argv).not.toContain(node.password);
        expect(statSync(node.dir).mode & 0o777).toBe(0o700);
      }
    });

    it('logs are 0600 in a 0700 dir', () => {
      const logs = dirname(tier.primary.postgres.logFile);
      expect(statSync(logs).mode & 0o777).toBe(0o700);
      for (const f of readdirSync(logs)) expect(statSync(join(logs, f)).mode & 0o777, f).toBe(0o600);
    });
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
