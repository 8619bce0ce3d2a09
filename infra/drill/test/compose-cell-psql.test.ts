// The compose backend's split-brain count for real: its exact psql argv, run by a stand-in for
// `docker exec -e PGPASSWORD <id> psql …` against a real PostgreSQL 15 holding login's real schema.
// The stand-in forwards only the named variable and points libpq at the cell (PGHOST/PGPORT), which
// inside the container would be the default socket. The same rows are counted with the local
// backend's pg query, so both backends must agree.

import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { topology } from '@failover-lab/lab';
import { startTestDataTier, type TestDataTier } from '@failover-lab/lab/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComposeBackend, type Exec } from '../src/backends/compose';
import { cellWriteCounter } from '../src/backends/local-cells';

const PG_BIN = '/usr/lib/postgresql/15/bin';
let tier: TestDataTier;
let since: Date;

beforeAll(async () => {
  tier = await startTestDataTier({ service: 'login' });
  const client = new pg.Client({ connectionString: tier.primary.databaseUrl });
  await client.connect();
  try {
    const schema = path.join(
      import.meta.dirname,
      '../../../services/login/src/migrations/001_users_sessions.sql',
    );
    await client.query(await readFile(schema, 'utf8'));
    const old = randomUUID();
    const recent = randomUUID();
    await client.query(
      `INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, 'old', 'x', now() - interval '1 hour')`,
      [old],
    );
    since = new Date(Date.now() - 60_000);
    await client.query(`INSERT INTO users (id, username, password_hash) VALUES ($1, 'recent', 'x')`, [
      recent,
    ]);
    await client.query(
      `INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at)
       VALUES ('\\x01', $1, $2, now() + interval '1 day')`,
      [randomUUID(), recent],
    );
  } finally {
    await client.end();
  }
}, 120_000);

afterAll(async () => {
  await tier?.stop();
}, 60_000);

function dockerOnThisMachine(): Exec {
  const url = new URL(tier.primary.databaseUrl);
  return (_file, args, options = {}) => {
    if (args[0] === 'ps') return Promise.resolve({ stdout: 'pg1\n' });
    expect(args.slice(0, 4)).toEqual(['exec', '-e', 'PGPASSWORD', 'pg1']);
    const [command, ...rest] = args.slice(4);
    const env = {
      PATH: `${PG_BIN}:${process.env.PATH ?? ''}`,
      PGPASSWORD: options.env?.PGPASSWORD ?? '',
      PGHOST: url.hostname,
      PGPORT: url.port || '5432',
    };
    return new Promise((resolve, reject) => {
      execFile(command!, rest, { env, timeout: 20_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(stderr || error.message)) : resolve({ stdout }),
      );
    });
  };
}

describe('compose split-brain count through psql, on a real Postgres', () => {
  it('counts what the local backend counts: the recent user and its refresh token', async () => {
    const compose = new ComposeBackend(
      { adminToken: 'unused-here-0123456789', appPassword: tier.secrets.appPassword },
      dockerOnThisMachine(),
    );
    const viaPsql = await compose.cells.countCellWrites('login', 'dc-a', since);
    // the lab's own addresses for this tier's subnet: the local backend's pg path, unchanged
    const viaPg = await cellWriteCounter(topology(tier.subnet), tier.secrets.appPassword)(
      'login',
      'dc-a',
      since,
    );
    expect(viaPsql).toBe(2);
    expect(viaPg).toBe(viaPsql);
    expect(await compose.cells.countCellWrites('login', 'dc-a', new Date(Date.now() + 60_000))).toBe(0);
  }, 60_000);

  it('the password travels by name: a wrong one is refused by Postgres, not counted as zero', async () => {
    const compose = new ComposeBackend(
      { adminToken: 'unused-here-0123456789', appPassword: 'wrong-password-0123456789' },
      dockerOnThisMachine(),
    );
    await expect(compose.cells.countCellWrites('login', 'dc-a', since)).rejects.toThrow(
      /password authentication failed/,
    );
  }, 60_000);
});
