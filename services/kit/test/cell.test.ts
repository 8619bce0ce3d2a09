// The kit against real Postgres (primary + streaming standby) and Redis (+ replica).

import { Writable } from 'node:stream';
import { postWholeBodyThenRead, startTestDataTier, type TestDataTier } from '@failover-lab/lab/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSigner, type TestSigner, testCellConfig } from '../src/testing';
import { buildProbeCell } from './fixtures/probe-service';

let tier: TestDataTier;
let signer: TestSigner;
let dcA: FastifyInstance;
let dcB: FastifyInstance;
const logs: string[] = [];
const admin = () => ({ authorization: `Bearer ${tier.secrets.adminToken}` });

beforeAll(async () => {
  tier = await startTestDataTier({ service: 'messaging', standby: true });
  signer = await createTestSigner();
  const logStream = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const configFor = (stores: NonNullable<TestDataTier['standby']>) =>
    testCellConfig({
      service: 'messaging',
      stores,
      adminToken: tier.secrets.adminToken,
      jwks: signer.jwks,
      logLevel: 'info',
    });
  dcA = await buildProbeCell(configFor(tier.primary), { logStream });
  dcB = await buildProbeCell(configFor(tier.standby!), { logStream });
});

afterAll(async () => {
  await dcA?.close();
  await dcB?.close();
  await tier?.stop();
});

async function write(app: FastifyInstance, headers: Record<string, string> = {}) {
  const token = await signer.sign('user-1');
  return app.inject({
    method: 'POST',
    url: '/probe/items',
    headers: { authorization: `Bearer ${token}`, ...headers },
    payload: { value: 'hello' },
  });
}

/** Poll until fn passes (replication is asynchronous for this service). */
async function eventually(fn: () => Promise<void>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('health', () => {
  it('live answers without touching the data stores', async () => {
    const res = await dcA.inject('/health/live');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'live' });
  });

  it('ready on the primary reports role, epoch, WAL position and its standby', async () => {
    await eventually(async () => {
      const body = (await dcA.inject('/health/ready')).json();
      expect(body.standbys.map((s: { name: string }) => s.name)).toContain('dc-b');
    });
    const res = await dcA.inject('/health/ready');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      status: 'ready',
      service: 'messaging',
      region: 'dc-a',
      role: 'primary',
      fenced: false,
      inRecovery: false,
      replicationLagBytes: null,
      checks: { postgres: { ok: true }, redis: { ok: true } },
    });
    expect(body.walLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(typeof body.epoch).toBe('number');
    const standby = body.standbys.find((s: { name: string }) => s.name === 'dc-b');
    expect(standby.state).toBe('streaming');
    expect(res.headers['x-cell-region']).toBe('dc-a');
    expect(res.headers['x-cell-role']).toBe('primary');
  });

  it('ready on the standby reports role standby and a replication lag in bytes', async () => {
    const res = await dcB.inject('/health/ready');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ role: 'standby', inRecovery: true, region: 'dc-b', standbys: [] });
    expect(body.replicationLagBytes).toBeGreaterThanOrEqual(0);
    expect(res.headers['x-cell-role']).toBe('standby');
    expect(res.headers['x-replication-lag-bytes']).toMatch(/^\d+$/);
  });

  it('a cell whose Redis is unreachable still starts, is live, and reports not ready', async () => {
    const config = { ...dcA.config, redisUrl: `redis://${tier.primary.host}:1`, logLevel: 'silent' };
    const app = await buildProbeCell(config);
    try {
      expect((await app.inject('/health/live')).statusCode).toBe(200);
      const res = await app.inject('/health/ready');
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({
        status: 'not_ready',
        checks: { postgres: { ok: true }, redis: { ok: false } },
      });
    } finally {
      await app.close();
    }
  });
});

describe('writes and fencing', () => {
  it('the primary accepts an authenticated write without an epoch header', async () => {
    const res = await write(dcA);
    expect(res.statusCode).toBe(201);
    expect(res.json().owner).toBe('user-1');
  });

  it('the standby refuses writes with 503 FENCED, not 500', async () => {
    const res = await write(dcB);
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('PROBE_ERR_FENCED');
  });

  it('a write reaching a read-only Postgres (stale cached role) is mapped to 503 FENCED', async () => {
    dcB.cell.inRecovery = false; // pretend the cache has not noticed yet
    const res = await write(dcB);
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('PROBE_ERR_FENCED');
    await eventually(async () => expect(dcB.cell.role()).toBe('standby'));
  });

  it('the primary claims epoch 1 with a no-op promote; a stale epoch is then 409', async () => {
    const res = await dcA.inject({
      method: 'POST',
      url: '/admin/promote',
      headers: admin(),
      payload: { epoch: 1 },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ role: 'primary', epoch: 1, wasStandby: false });
    const again = await dcA.inject({
      method: 'POST',
      url: '/admin/promote',
      headers: admin(),
      payload: { epoch: 1 },
    });
    expect(again.statusCode).toBe(200);
    const stale = await dcA.inject({
      method: 'POST',
      url: '/admin/promote',
      headers: admin(),
      payload: { epoch: 0 },
    });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error.code).toBe('ADMIN_ERR_STALE_EPOCH');
    const rows = await tier.primary.query<{ epoch: string }>('SELECT epoch FROM cell_state');
    expect(Number(rows[0]!.epoch)).toBe(1);
  });

  it('a write whose x-failover-epoch differs from the cell epoch is refused with 503', async () => {
    expect((await write(dcA, { 'x-failover-epoch': '1' })).statusCode).toBe(201);
    const res = await write(dcA, { 'x-failover-epoch': '7' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('PROBE_ERR_FENCED');
  });

  describe('x-request-deadline (the router has given up on the request)', () => {
    const postItem = async (value: string, deadline: string, pauseMs?: number) =>
      dcA.inject({
        method: 'POST',
        url: '/probe/items',
        headers: { authorization: `Bearer ${await signer.sign('user-1')}`, 'x-request-deadline': deadline },
        payload: { value, ...(pauseMs === undefined ? {} : { pauseMs }) },
      });
    const countOf = async (value: string) =>
      Number(
        (
          await tier.primary.query<{ n: string }>('SELECT count(*) AS n FROM probe_items WHERE value = $1', [
            value,
          ])
        )[0]!.n,
      );

    it('a write whose deadline has passed is refused with 503 DEADLINE_EXCEEDED and changes nothing', async () => {
      const value = `late-${crypto.randomUUID().slice(0, 8)}`;
      const res = await postItem(value, String(Date.now() - 1));
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('PROBE_ERR_DEADLINE_EXCEEDED');
      expect(res.json().error.message).toMatch(/refused before writing/);
      expect(await countOf(value)).toBe(0);
    });

    it('a write within its deadline commits', async () => {
      const value = `on-time-${crypto.randomUUID().slice(0, 8)}`;
      const res = await postItem(value, String(Date.now() + 60_000));
      expect(res.statusCode).toBe(201);
      expect(await countOf(value)).toBe(1);
    });

    it('a transaction whose deadline passes before COMMIT is rolled back', async () => {
      // The INSERT runs well inside the deadline; the transaction then outlives it (a process frozen
      // mid-request), so the check right before COMMIT must roll it back.
      const value = `frozen-${crypto.randomUUID().slice(0, 8)}`;
      const res = await postItem(value, String(Date.now() + 1_500), 2_500);
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('PROBE_ERR_DEADLINE_EXCEEDED');
      expect(res.json().error.message).toMatch(/rolled back before COMMIT/);
      expect(await countOf(value)).toBe(0);
      // the connection went back to the pool clean: the next write commits
      expect((await write(dcA)).statusCode).toBe(201);
    });

    it('a malformed deadline is a 400 VALIDATION, nothing written', async () => {
      const value = `bad-${crypto.randomUUID().slice(0, 8)}`;
      const res = await postItem(value, 'tomorrow');
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('PROBE_ERR_VALIDATION');
      expect(await countOf(value)).toBe(0);
    });
  });

  it('sync sets synchronous_standby_names through ALTER SYSTEM and back to async', async () => {
    const on = await dcA.inject({
      method: 'POST',
      url: '/admin/sync',
      headers: admin(),
      payload: { standbys: ['dc-b'] },
    });
    expect(on.statusCode).toBe(200);
    expect(on.json()).toEqual({ synchronousStandbyNames: '"dc-b"' });
    await eventually(async () => {
      const state = (await dcA.inject({ url: '/admin/state', headers: admin() })).json();
      expect(state.synchronousStandbyNames).toBe('"dc-b"');
      expect(state.standbys.find((s: { name: string }) => s.name === 'dc-b')?.syncState).toBe('sync');
    });
    const off = await dcA.inject({
      method: 'POST',
      url: '/admin/sync',
      headers: admin(),
      payload: { standbys: [] },
    });
    expect(off.json()).toEqual({ synchronousStandbyNames: '' });
    const bad = await dcA.inject({
      method: 'POST',
      url: '/admin/sync',
      headers: admin(),
      payload: { standbys: ["dc-b'; DROP TABLE cell_state; --"] },
    });
    expect(bad.statusCode).toBe(400);
  });

  it('promote on the standby makes it primary, stores the epoch and lifts the sync requirement', async () => {
    // the standby has replayed epoch 1 from dc-a; 2 is the next one
    await eventually(async () => {
      await dcB.cell.refresh();
      expect(dcB.cell.epoch).toBe(1);
    });
    // a standby that carries its primary's sync setting (a data dir copied whole): the promotion empties it
    await tier.standby!.query(`ALTER SYSTEM SET synchronous_standby_names = '"dc-a"'`);
    await tier.standby!.query('SELECT pg_reload_conf()');
    // once the reload reached both sessions of the admin pool (two queries at once take one each)
    const names = () =>
      dcB.adminPool.query<{ v: string }>(`SELECT current_setting('synchronous_standby_names') AS v`);
    await eventually(async () => {
      const seen = await Promise.all([names(), names()]);
      expect(seen.map((r) => r.rows[0]!.v)).toEqual(['"dc-a"', '"dc-a"']);
    });
    const res = await dcB.inject({
      method: 'POST',
      url: '/admin/promote',
      headers: admin(),
      payload: { epoch: 2 },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ role: 'primary', epoch: 2, wasStandby: true, redis: 'primary' });
    expect(res.json().promoteMs).toBeGreaterThanOrEqual(0);
    // every step of a standby's promotion is reported (what they took is the benchmark's business)
    // every step of a standby's promotion that had work to do is reported (no migrations to apply and no
    // fence marker to clear here: those two are absent)
    expect(Object.keys(res.json().steps).sort()).toEqual([
      'checkMs',
      'pgPromoteMs',
      'redisMs',
      'syncOffMs',
      'writableMs',
    ]);
    const rows = await tier.standby!.query<{ epoch: string; in_recovery: boolean }>(
      'SELECT epoch, pg_is_in_recovery() AS in_recovery FROM cell_state',
    );
    expect(rows[0]).toMatchObject({ epoch: '2', in_recovery: false });
    const state = (await dcB.inject({ url: '/admin/state', headers: admin() })).json();
    expect(state).toMatchObject({ role: 'primary', epoch: 2, synchronousStandbyNames: '' });
    expect((await write(dcB, { 'x-failover-epoch': '2' })).statusCode).toBe(201);
    // the old primary still holds epoch 1: requests carrying the new epoch are refused there
    const old = await write(dcA, { 'x-failover-epoch': '2' });
    expect(old.statusCode).toBe(503);
  });

  it('fence makes the cell refuse every write until a promote', async () => {
    const res = await dcA.inject({
      method: 'POST',
      url: '/admin/fence',
      headers: admin(),
      payload: { epoch: 2 },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ fenced: true, epoch: 2, marker: true, grantsRevoked: true });
    const refused = await write(dcA);
    expect(refused.statusCode).toBe(503);
    expect(refused.json().error.code).toBe('PROBE_ERR_FENCED');
    const ready = (await dcA.inject('/health/ready')).json();
    expect(ready).toMatchObject({ role: 'fenced', fenced: true });
    expect((await dcA.inject('/metrics')).body).toMatch(/cell_role\{[^}]*role="fenced"[^}]*\} 1/);
  });
});

describe('TRUSTED_PROXIES: whose x-forwarded-for sets request.ip', () => {
  // inject() with a remoteAddress: the socket peer as a real connection would give it, no network
  const whoami = (app: FastifyInstance, remoteAddress: string) =>
    app.inject({ url: '/probe/whoami', remoteAddress, headers: { 'x-forwarded-for': '127.66.6.6' } });

  it('without it (the default), request.ip is the socket address whatever the header says', async () => {
    expect(dcA.config.trustedProxies ?? []).toEqual([]);
    expect((await whoami(dcA, '127.9.0.1')).json()).toEqual({ ip: '127.9.0.1' });
  });

  it('with the router trusted, request.ip is the forwarded address — from the router only', async () => {
    const app = await buildProbeCell({ ...dcA.config, trustedProxies: ['127.9.0.1', '127.10.0.0/16'] });
    try {
      expect((await whoami(app, '127.9.0.1')).json()).toEqual({ ip: '127.66.6.6' });
      expect((await whoami(app, '127.10.3.4')).json()).toEqual({ ip: '127.66.6.6' });
      // anyone else's header is ignored: a client cannot choose its own address
      expect((await whoami(app, '127.0.0.1')).json()).toEqual({ ip: '127.0.0.1' });
    } finally {
      await app.close();
    }
  });

  it('a host name is trusted at the addresses it resolves to (localhost: 127.0.0.1 only)', async () => {
    const app = await buildProbeCell({ ...dcA.config, trustedProxies: ['localhost'] });
    try {
      expect((await whoami(app, '127.0.0.1')).json()).toEqual({ ip: '127.66.6.6' });
      // another loopback address is not what the name resolves to
      expect((await whoami(app, '127.77.0.9')).json()).toEqual({ ip: '127.77.0.9' });
    } finally {
      await app.close();
    }
  });

  it('a name that does not resolve trusts nobody and is reported once', async () => {
    const warnings: string[] = [];
    const logStream = new Writable({
      write(chunk, _enc, done) {
        if (String(chunk).includes('does not resolve')) warnings.push(String(chunk));
        done();
      },
    });
    // A made-up name would be a query to the machine's (non-loopback) DNS server: answer ENOTFOUND here.
    const notFound = async (name: string) => {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    };
    const app = await buildProbeCell(
      { ...dcA.config, trustedProxies: ['router.invalid'] },
      { logStream, trustedProxyLookup: notFound },
    );
    try {
      for (const peer of ['127.0.0.1', '127.9.0.1']) {
        expect((await whoami(app, peer)).json()).toEqual({ ip: peer });
      }
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('router.invalid');
    } finally {
      await app.close();
    }
  });
});

describe('admin token', () => {
  it.each([
    ['no header', {}],
    ['wrong token', { authorization: 'Bearer not-the-admin-token-at-all' }],
    ['a user access token', { authorization: 'Bearer eyJhbGciOiJFZERTQSJ9.e30.xx' }],
  ])('401 ADMIN_ERR_UNAUTHORIZED with %s', async (_name, headers) => {
    for (const [method, url] of [
      ['GET', '/admin/state'],
      ['POST', '/admin/promote'],
      ['POST', '/admin/fence'],
      ['POST', '/admin/sync'],
    ] as const) {
      const res = await dcA.inject({
        method,
        url,
        headers,
        payload: method === 'POST' ? { epoch: 99 } : undefined,
      });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('ADMIN_ERR_UNAUTHORIZED');
    }
    expect(dcA.cell.epoch).toBe(1);
  });
});

describe('access tokens', () => {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

  it.each([
    ['signed by another key', async () => (await createTestSigner(signer.kid)).sign('user-1')],
    ['expired', () => signer.sign('user-1', { expiresIn: Math.floor(Date.now() / 1000) - 60 })],
    ['for another audience', () => signer.sign('user-1', { aud: 'someone-else' })],
    ['from another issuer', () => signer.sign('user-1', { iss: 'evil' })],
    ['with an unknown kid', () => signer.sign('user-1', { kid: 'nope' })],
    [
      'with alg none',
      async () =>
        `${b64({ alg: 'none', kid: signer.kid })}.${b64({ sub: 'user-1', iss: 'failover-lab/login', aud: 'failover-lab', exp: 9e9, jti: 'x' })}.`,
    ],
    ['garbage', async () => 'not.a.jwt'],
  ])('a token %s is 401', async (_name, makeToken) => {
    const token = await makeToken();
    const res = await dcB.inject({
      method: 'POST',
      url: '/probe/items',
      headers: { authorization: `Bearer ${token}` },
      payload: { value: 'x' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('PROBE_ERR_UNAUTHORIZED');
  });
});

describe('client mistakes are 4xx with a code', () => {
  it.each([
    ['unknown route', { method: 'GET', url: '/nope' }, 404, 'PROBE_ERR_NOT_FOUND'],
    [
      'bad JSON',
      { method: 'POST', url: '/probe/items', payload: '{"value":', ct: 'application/json' },
      400,
      'PROBE_ERR_VALIDATION',
    ],
    [
      'empty JSON body',
      { method: 'POST', url: '/probe/items', payload: '', ct: 'application/json' },
      400,
      'PROBE_ERR_VALIDATION',
    ],
    [
      'schema violation',
      { method: 'POST', url: '/probe/items', payload: '{"value":7}', ct: 'application/json' },
      400,
      'PROBE_ERR_VALIDATION',
    ],
    [
      'proto poisoning',
      {
        method: 'POST',
        url: '/probe/items',
        payload: '{"__proto__":{"x":1},"value":"a"}',
        ct: 'application/json',
      },
      400,
      'PROBE_ERR_VALIDATION',
    ],
    [
      'wrong media type',
      { method: 'POST', url: '/probe/items', payload: 'value=a', ct: 'application/x-www-form-urlencoded' },
      415,
      'PROBE_ERR_UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'body too large',
      {
        method: 'POST',
        url: '/probe/items',
        payload: JSON.stringify({ value: 'x'.repeat(2_000_000) }),
        ct: 'application/json',
      },
      413,
      'PROBE_ERR_PAYLOAD_TOO_LARGE',
    ],
    ['bad path param', { method: 'GET', url: '/probe/items/abc' }, 400, 'PROBE_ERR_VALIDATION'],
    ['malformed %-escape in the URL', { method: 'GET', url: '/probe/items/%' }, 400, 'PROBE_ERR_VALIDATION'],
  ])('%s', async (_name, req, status, code) => {
    const token = await signer.sign('user-1');
    const res = await dcB.inject({
      method: req.method as 'GET' | 'POST',
      url: req.url,
      headers: { authorization: `Bearer ${token}`, ...('ct' in req ? { 'content-type': req.ct } : {}) },
      ...('payload' in req ? { payload: req.payload } : {}),
    });
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
  });

  it('a body far over the limit gets its 413 over a real socket: the cell reads the rest before it closes', async () => {
    // Closing with the rest of the body unread resets the connection: a client still sending gets EPIPE.
    const address = await dcB.listen({ host: '127.0.0.1', port: 0 });
    const headers = { authorization: `Bearer ${await signer.sign('user-1')}` };
    const url = `${address}/probe/items`;
    expect(
      await Promise.all([
        postWholeBodyThenRead(url, 4 * 1024 * 1024, { headers }),
        postWholeBodyThenRead(url, 4 * 1024 * 1024, { headers, chunked: true }),
      ]),
    ).toEqual(Array(2).fill('HTTP/1.1 413 Payload Too Large PROBE_ERR_PAYLOAD_TOO_LARGE'));
  });
});

describe('observability', () => {
  it('metrics carry service and region labels', async () => {
    await dcB.inject('/health/live');
    const text = (await dcB.inject('/metrics')).body;
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{[^}]*service="messaging",region="dc-b",method="GET",route="\/health\/live",status_code="200"/,
    );
    expect(text).toMatch(/cell_epoch\{service="messaging",region="dc-b"\} 2/);
    expect(text).toMatch(/cell_replication_lag_bytes\{service="messaging",region="dc-b"\}/);
  });

  it('logs carry request ids and never the admin token or bearer tokens', async () => {
    const token = await signer.sign('user-1');
    await dcA.inject({ url: '/admin/state', headers: { ...admin(), 'x-request-id': 'req-abc-123' } });
    await dcA.inject({ url: '/probe/items/1', headers: { authorization: `Bearer ${token}` } });
    const all = logs.join('');
    expect(all).toContain('req-abc-123');
    expect(all).not.toContain(tier.secrets.adminToken);
    expect(all).not.toContain(token);
    expect(all).not.toContain(tier.secrets.appPassword);
  });
});
