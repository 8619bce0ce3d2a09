// The expired-row sweeper against a real primary/standby pair: exactly the rows past expiry + grace go,
// a signed-out access token stays refused, batches repeat until short, and a standby or fenced cell
// sweeps nothing. Rows are seeded with SQL relative to the database's own clock (now() ± intervals).

import { randomBytes, randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { TestSigner } from '@failover-lab/cell-kit/testing';
import { type TestDataTier, waitUntil } from '@failover-lab/lab/testing';
import type { FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepExpiredRows } from '../src/sweeper';
import {
  buildTestLoginCell,
  createTestSigner,
  PASSWORD,
  startTier,
  testSettings,
  uniqueUsername,
} from './helpers';

let tier: TestDataTier;
let signer: TestSigner;
let app: FastifyInstance;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  tier = await startTier({ service: 'login', standby: true });
  signer = await createTestSigner();
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
  });
  app = await buildTestLoginCell(tier, tier.primary, signer, { logStream });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await tier?.stop();
});

const json = (res: { body: string }) => JSON.parse(res.body);
const admin = () => ({ authorization: `Bearer ${tier.secrets.adminToken}` });
const q = (sql: string, params?: unknown[]) => tier.primary.query(sql, params);

async function seedUser(): Promise<string> {
  const id = randomUUID();
  await q(`INSERT INTO users (id, username, password_hash) VALUES ($1, $2, 'not-a-hash')`, [
    id,
    uniqueUsername('sw'),
  ]);
  return id;
}

/** A refresh token row expiring at now() + `expiresIn` (a Postgres interval, negative = in the past). */
async function seedRefreshToken(userId: string, familyId: string, expiresIn: string): Promise<string> {
  const hash = randomBytes(32);
  await q(
    `INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at)
     VALUES ($1, $2, $3, now() + $4::interval)`,
    [hash, familyId, userId, expiresIn],
  );
  return hash.toString('hex');
}

async function seedFamily(userId: string, createdAgo: string): Promise<string> {
  const id = randomUUID();
  await q(
    `INSERT INTO session_families (family_id, user_id, created_at) VALUES ($1, $2, now() - $3::interval)`,
    [id, userId, createdAgo],
  );
  return id;
}

async function seedRevoked(userId: string, expiresIn: string): Promise<string> {
  const jti = randomUUID();
  await q(
    `INSERT INTO revoked_access_tokens (jti, user_id, expires_at) VALUES ($1, $2, now() + $3::interval)`,
    [jti, userId, expiresIn],
  );
  return jti;
}

interface Snapshot {
  refresh_tokens: Set<string>;
  revoked_access_tokens: Set<string>;
  session_families: Set<string>;
  users: number;
}

async function snapshot(): Promise<Snapshot> {
  const ids = async (sql: string) => new Set((await q(sql)).map((r) => String(r.id)));
  return {
    refresh_tokens: await ids(`SELECT encode(token_hash, 'hex') AS id FROM refresh_tokens`),
    revoked_access_tokens: await ids('SELECT jti::text AS id FROM revoked_access_tokens'),
    session_families: await ids('SELECT family_id::text AS id FROM session_families'),
    users: Number((await q('SELECT count(*) AS n FROM users'))[0]!.n),
  };
}

const gone = (before: Set<string>, after: Set<string>) => [...before].filter((id) => !after.has(id)).sort();

async function sweptMetric(table: string): Promise<number> {
  const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = body
    .split('\n')
    .find((l) => l.startsWith('login_rows_swept_total{') && l.includes(`table="${table}"`));
  if (!line) throw new Error(`no login_rows_swept_total series for ${table}`);
  expect(line).toContain('service="login"');
  expect(line).toContain('region="dc-a"');
  return Number(line.split(' ').pop());
}

async function signedInUser() {
  const username = uniqueUsername('sw');
  const signUp = await app.inject({
    method: 'POST',
    url: '/login/users',
    payload: { username, password: PASSWORD },
  });
  expect(signUp.statusCode).toBe(201);
  const signIn = await app.inject({
    method: 'POST',
    url: '/login/sessions',
    payload: { username, password: PASSWORD },
  });
  expect(signIn.statusCode).toBe(201);
  const { accessToken } = json(signIn) as { accessToken: string };
  return { accessToken, familyId: decodeJwt(accessToken).sid as string };
}

const me = (token: string) =>
  app.inject({ method: 'GET', url: '/login/me', headers: { authorization: `Bearer ${token}` } });

describe('one sweep on the primary', () => {
  it('deletes exactly the rows expired more than the grace ago, and families left empty and old', async () => {
    const user = await seedUser();
    const familyOfExpired = await seedFamily(user, '31 days');
    const familyInGrace = await seedFamily(user, '31 days');
    const familyLive = await seedFamily(user, '31 days');
    const familyEmptyOld = await seedFamily(user, '31 days');
    await seedFamily(user, '29 days'); // no tokens, but younger than a refresh-token lifetime: stays
    const expiredToken = await seedRefreshToken(user, familyOfExpired, '-2 minutes');
    await seedRefreshToken(user, familyInGrace, '-10 seconds'); // expired, but within the grace
    await seedRefreshToken(user, familyLive, '1 day');
    const revokedExpired = await seedRevoked(user, '-2 minutes');
    await seedRevoked(user, '-10 seconds');
    await seedRevoked(user, '10 minutes');
    const metricsBefore = {
      refresh_tokens: await sweptMetric('refresh_tokens'),
      revoked_access_tokens: await sweptMetric('revoked_access_tokens'),
      session_families: await sweptMetric('session_families'),
    };
    const before = await snapshot();
    const logsBefore = logLines.length;

    const outcome = await app.loginSweeper.runOnce();

    const after = await snapshot();
    expect(gone(before.refresh_tokens, after.refresh_tokens)).toEqual([expiredToken]);
    expect(gone(before.revoked_access_tokens, after.revoked_access_tokens)).toEqual([revokedExpired]);
    expect(gone(before.session_families, after.session_families)).toEqual(
      [familyOfExpired, familyEmptyOld].sort(),
    );
    expect(after.users).toBe(before.users);
    expect(outcome).toMatchObject({
      ran: true,
      deleted: { refresh_tokens: 1, revoked_access_tokens: 1, session_families: 2 },
    });
    expect(await sweptMetric('refresh_tokens')).toBe(metricsBefore.refresh_tokens + 1);
    expect(await sweptMetric('revoked_access_tokens')).toBe(metricsBefore.revoked_access_tokens + 1);
    expect(await sweptMetric('session_families')).toBe(metricsBefore.session_families + 2);
    const sweptLogs = logLines.slice(logsBefore).filter((l) => l.msg === 'swept expired rows');
    expect(sweptLogs).toHaveLength(1);
    expect(sweptLogs[0]).toMatchObject({
      level: 30,
      deleted: { refresh_tokens: 1, revoked_access_tokens: 1, session_families: 2 },
    });

    // Nothing left to delete: no log line, the metric stays put.
    const logsBeforeIdle = logLines.length;
    expect(await app.loginSweeper.runOnce()).toMatchObject({
      ran: true,
      deleted: { refresh_tokens: 0, revoked_access_tokens: 0, session_families: 0 },
    });
    expect(logLines.slice(logsBeforeIdle).filter((l) => l.msg === 'swept expired rows')).toEqual([]);
    expect(await sweptMetric('refresh_tokens')).toBe(metricsBefore.refresh_tokens + 1);
  });

  it('keeps a signed-out access token refused after a sweep, even once its session family is gone', async () => {
    const { accessToken, familyId } = await signedInUser();
    const signOut = await app.inject({
      method: 'DELETE',
      url: '/login/sessions/current',
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(signOut.statusCode).toBe(204);
    // Age the session so the sweeper takes its refresh token and family: from then on only the
    // revoked_access_tokens row (expiring with the token, 15 min from now) refuses this token.
    await q(`UPDATE refresh_tokens SET expires_at = now() - interval '1 day' WHERE family_id = $1`, [
      familyId,
    ]);
    await q(`UPDATE session_families SET created_at = now() - interval '31 days' WHERE family_id = $1`, [
      familyId,
    ]);
    const { jti } = decodeJwt(accessToken);
    const other = await signedInUser(); // a control: a live token keeps working

    const outcome = await app.loginSweeper.runOnce();

    expect(outcome.ran).toBe(true);
    expect(await q('SELECT 1 FROM session_families WHERE family_id = $1', [familyId])).toEqual([]);
    expect(await q('SELECT 1 FROM refresh_tokens WHERE family_id = $1', [familyId])).toEqual([]);
    expect(await q('SELECT 1 FROM revoked_access_tokens WHERE jti = $1', [jti])).toHaveLength(1);
    const refused = await me(accessToken);
    expect(refused.statusCode).toBe(401);
    expect(json(refused).error.code).toBe('LOGIN_ERR_TOKEN_REVOKED');
    expect((await me(other.accessToken)).statusCode).toBe(200);
  });

  it('never runs twice at once', async () => {
    const first = app.loginSweeper.runOnce();
    const second = await app.loginSweeper.runOnce();
    expect(second).toEqual({ ran: false, reason: 'already_running' });
    expect((await first).ran).toBe(true);
  });
});

describe('batches', () => {
  it('repeats a batch until one comes back short, and stops early when told to', async () => {
    const user = await seedUser();
    const family = await seedFamily(user, '1 day');
    for (let i = 0; i < 5; i++) await seedRefreshToken(user, family, '-1 hour');

    let batches = 0;
    const reported: [string, number][] = [];
    const first = await sweepExpiredRows(app.pg, {
      batchSize: 2,
      mayContinue: () => ++batches <= 1,
      onBatch: (table, count) => reported.push([table, count]),
    });
    expect(first).toEqual({ refresh_tokens: 2, revoked_access_tokens: 0, session_families: 0 });
    expect(reported).toEqual([['refresh_tokens', 2]]);

    const rest = await sweepExpiredRows(app.pg, { batchSize: 2 });
    expect(rest.refresh_tokens).toBe(3); // 2 + 1: the short batch ends the table
    expect(await q('SELECT 1 FROM refresh_tokens WHERE family_id = $1', [family])).toEqual([]);
  });
});

describe('only the writable primary sweeps', () => {
  it('a standby cell skips quietly and deletes nothing', async () => {
    const user = await seedUser();
    const family = await seedFamily(user, '1 day');
    const expired = await seedRefreshToken(user, family, '-1 hour');
    await waitUntil(
      'the expired row on the standby',
      async () =>
        (
          await tier.standby!.query(`SELECT 1 FROM refresh_tokens WHERE encode(token_hash, 'hex') = $1`, [
            expired,
          ])
        ).length === 1,
      15_000,
    );
    const standby = await buildTestLoginCell(tier, tier.standby!, signer);
    try {
      expect(standby.cell.role()).toBe('standby');
      expect(await standby.loginSweeper.runOnce()).toEqual({ ran: false, reason: 'not_primary' });
    } finally {
      await standby.close();
    }
    expect(
      await q(`SELECT 1 FROM refresh_tokens WHERE encode(token_hash, 'hex') = $1`, [expired]),
    ).toHaveLength(1);
  });

  it('a fenced primary skips, and sweeps again once the fence is lifted', async () => {
    const user = await seedUser();
    const family = await seedFamily(user, '1 day');
    const expired = await seedRefreshToken(user, family, '-1 hour');
    const { epoch } = json(await app.inject({ method: 'GET', url: '/admin/state', headers: admin() }));
    const fence = await app.inject({
      method: 'POST',
      url: '/admin/fence',
      headers: admin(),
      payload: { epoch },
    });
    expect(fence.statusCode).toBe(200);

    expect(await app.loginSweeper.runOnce()).toEqual({ ran: false, reason: 'not_primary' });
    expect(
      await q(`SELECT 1 FROM refresh_tokens WHERE encode(token_hash, 'hex') = $1`, [expired]),
    ).toHaveLength(1);

    // promote with the same epoch is idempotent and lifts the fence (docs/contracts.md)
    const promote = await app.inject({
      method: 'POST',
      url: '/admin/promote',
      headers: admin(),
      payload: { epoch },
    });
    expect(promote.statusCode).toBe(200);
    expect((await app.loginSweeper.runOnce()).ran).toBe(true);
    expect(await q(`SELECT 1 FROM refresh_tokens WHERE encode(token_hash, 'hex') = $1`, [expired])).toEqual(
      [],
    );
  });
});

describe('the timer', () => {
  it('sweeps on its own at the configured interval and stops when the app closes', async () => {
    const timed = await buildTestLoginCell(tier, tier.primary, signer, {
      settings: testSettings({ sweep: { intervalMs: 50, batchSize: 1000 } }),
    });
    try {
      await timed.ready(); // onReady starts the timer
      const user = await seedUser();
      const family = await seedFamily(user, '1 day');
      const expired = await seedRefreshToken(user, family, '-1 hour');
      await waitUntil(
        'the timer-driven sweep to delete the expired row',
        async () =>
          (await q(`SELECT 1 FROM refresh_tokens WHERE encode(token_hash, 'hex') = $1`, [expired])).length ===
          0,
        15_000,
      );
    } finally {
      await timed.close();
    }
    expect(await timed.loginSweeper.runOnce()).toEqual({ ran: false, reason: 'stopped' });
  });
});
