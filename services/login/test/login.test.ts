// Login against a real Postgres + Redis (startTestDataTier): every endpoint's success and failure paths.

import type { TestSigner } from '@failover-lab/cell-kit/testing';
import type { TestDataTier } from '@failover-lab/lab/testing';
import type { FastifyInstance } from 'fastify';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestLoginCell,
  createTestSigner,
  PASSWORD,
  rowCounts,
  startTier,
  testSettings,
  uniqueUsername,
} from './helpers';

let tier: TestDataTier;
let signer: TestSigner;
let app: FastifyInstance;

beforeAll(async () => {
  tier = await startTier({ service: 'login' });
  signer = await createTestSigner();
  app = await buildTestLoginCell(tier, tier.primary, signer);
});
afterAll(async () => {
  await app?.close();
  await tier?.stop();
});

const json = (res: { body: string }) => JSON.parse(res.body);

async function signUp(username = uniqueUsername(), password = PASSWORD) {
  const res = await app.inject({ method: 'POST', url: '/login/users', payload: { username, password } });
  expect(res.statusCode).toBe(201);
  return { username, password, id: json(res).id as string };
}

async function signIn(username: string, password = PASSWORD) {
  const res = await app.inject({ method: 'POST', url: '/login/sessions', payload: { username, password } });
  expect(res.statusCode, res.body).toBe(201);
  return json(res) as { accessToken: string; refreshToken: string; expiresIn: number; tokenType: string };
}

const me = (token: string) =>
  app.inject({ method: 'GET', url: '/login/me', headers: { authorization: `Bearer ${token}` } });

describe('sign-up', () => {
  it('creates a user and refuses the same username twice', async () => {
    const username = uniqueUsername();
    const first = await app.inject({
      method: 'POST',
      url: '/login/users',
      payload: { username, password: PASSWORD },
    });
    expect(first.statusCode).toBe(201);
    expect(json(first)).toMatchObject({ username, id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const before = await rowCounts(tier.primary);
    const again = await app.inject({
      method: 'POST',
      url: '/login/users',
      payload: { username, password: 'another password!' },
    });
    expect(again.statusCode).toBe(409);
    expect(json(again).error.code).toBe('LOGIN_ERR_USERNAME_TAKEN');
    expect(await rowCounts(tier.primary)).toEqual(before);
  });

  it('stores an scrypt hash, never the password', async () => {
    const { username } = await signUp();
    const [row] = await tier.primary.query<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE username = $1',
      [username],
    );
    expect(row!.password_hash).toMatch(/^scrypt\$14\$8\$1\$/);
    expect(row!.password_hash).not.toContain(PASSWORD);
  });

  it.each([
    ['too short username', { username: 'ab', password: PASSWORD }],
    ['uppercase username', { username: 'Alice', password: PASSWORD }],
    ['33-char username', { username: 'a'.repeat(33), password: PASSWORD }],
    ['11-char password', { username: 'valid_name', password: 'x'.repeat(11) }],
    ['257-char password', { username: 'valid_name', password: 'x'.repeat(257) }],
    ['extra field', { username: 'valid_name', password: PASSWORD, admin: true }],
  ])('refuses %s with 400 and changes nothing', async (_name, payload) => {
    const before = await rowCounts(tier.primary);
    const res = await app.inject({ method: 'POST', url: '/login/users', payload });
    expect(res.statusCode).toBe(400);
    expect(json(res).error.code).toBe('LOGIN_ERR_VALIDATION');
    expect(await rowCounts(tier.primary)).toEqual(before);
  });
});

describe('sign-in', () => {
  it('returns an Ed25519 access token with the contract claims and a refresh token', async () => {
    const { username, id } = await signUp();
    const pair = await signIn(username);
    expect(pair).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    expect(decodeProtectedHeader(pair.accessToken)).toMatchObject({ alg: 'EdDSA', kid: signer.kid });
    const claims = decodeJwt(pair.accessToken);
    expect(claims).toMatchObject({ sub: id, iss: 'failover-lab/login', aud: 'failover-lab' });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    const [stored] = await tier.primary.query<{ n: string }>(
      'SELECT count(*) AS n FROM refresh_tokens WHERE user_id = $1',
      [id],
    );
    expect(Number(stored!.n)).toBe(1);
  });

  it('answers the same 401 for a wrong password and an unknown user', async () => {
    const { username } = await signUp();
    const wrong = await app.inject({
      method: 'POST',
      url: '/login/sessions',
      payload: { username, password: 'not the password!' },
    });
    const unknown = await app.inject({
      method: 'POST',
      url: '/login/sessions',
      payload: { username: uniqueUsername('nobody'), password: PASSWORD },
    });
    for (const res of [wrong, unknown]) {
      expect(res.statusCode).toBe(401);
      expect(json(res).error.code).toBe('LOGIN_ERR_INVALID_CREDENTIALS');
    }
    expect(json(wrong).error.message).toBe(json(unknown).error.message);
  });

  it('counts outcomes in login_signins_total', async () => {
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/login_signins_total\{outcome="success",service="login",region="dc-a"\} [1-9]/);
    expect(metrics).toMatch(
      /login_signins_total\{outcome="invalid_credentials",service="login",region="dc-a"\} [1-9]/,
    );
  });
});

describe('rate limiting (Redis)', () => {
  it('answers 429 with Retry-After once a username exceeds its window, per username', async () => {
    const limited = await buildTestLoginCell(tier, tier.primary, signer, {
      settings: testSettings({ signInLimitPerUsername: { limit: 3, windowSeconds: 60 } }),
    });
    try {
      const { username } = await signUp();
      const attempt = (name: string) =>
        limited.inject({
          method: 'POST',
          url: '/login/sessions',
          payload: { username: name, password: PASSWORD },
        });
      for (let i = 0; i < 3; i++) expect((await attempt(username)).statusCode).toBe(201);
      const blocked = await attempt(username);
      expect(blocked.statusCode).toBe(429);
      expect(json(blocked).error.code).toBe('LOGIN_ERR_RATE_LIMITED');
      const retryAfter = Number(blocked.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      // another username is not blocked by this one's window
      const other = await signUp();
      expect((await attempt(other.username)).statusCode).toBe(201);
    } finally {
      await limited.close();
    }
  });

  it('a guesser blocks only their own address: the user still signs in from another', async () => {
    const limited = await buildTestLoginCell(tier, tier.primary, signer, {
      settings: testSettings({ signInLimitPerUsername: { limit: 3, windowSeconds: 60 } }),
    });
    try {
      const { username } = await signUp();
      const octet = () => Math.floor(Math.random() * 250);
      const attacker = `127.8.${octet()}.${octet()}`;
      const owner = `127.7.${octet()}.${octet()}`;
      const attempt = (remoteAddress: string, password: string) =>
        limited.inject({
          method: 'POST',
          url: '/login/sessions',
          remoteAddress,
          payload: { username, password },
        });
      for (let i = 0; i < 3; i++) expect((await attempt(attacker, 'wrong-password-1')).statusCode).toBe(401);
      expect((await attempt(attacker, 'wrong-password-1')).statusCode).toBe(429);
      expect((await attempt(attacker, PASSWORD)).statusCode).toBe(429);
      expect((await attempt(owner, PASSWORD)).statusCode).toBe(201);
    } finally {
      await limited.close();
    }
  });

  it('limits per client IP across usernames', async () => {
    const limited = await buildTestLoginCell(tier, tier.primary, signer, {
      settings: testSettings({ signInLimitPerIp: { limit: 2, windowSeconds: 60 } }),
    });
    try {
      const ip = `127.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
      const attempt = (name: string) =>
        limited.inject({
          method: 'POST',
          url: '/login/sessions',
          remoteAddress: ip,
          payload: { username: name, password: PASSWORD },
        });
      expect((await attempt(uniqueUsername())).statusCode).toBe(401);
      expect((await attempt(uniqueUsername())).statusCode).toBe(401);
      expect((await attempt(uniqueUsername())).statusCode).toBe(429);
    } finally {
      await limited.close();
    }
  });

  it('fails open when Redis is down: sign-in works and the metric counts it', async () => {
    // A Redis address nothing listens on: connection refused, like a dead Redis.
    const noRedis = await buildTestLoginCell(tier, tier.primary, signer, {
      redisUrl: `redis://${tier.primary.host}:1`,
      settings: testSettings({ signInLimitPerUsername: { limit: 1, windowSeconds: 60 } }),
    });
    try {
      const { username } = await signUp();
      for (let i = 0; i < 2; i++) {
        const res = await noRedis.inject({
          method: 'POST',
          url: '/login/sessions',
          payload: { username, password: PASSWORD },
        });
        expect(res.statusCode).toBe(201);
      }
      const metrics = (await noRedis.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/login_ratelimit_fail_open_total\{service="login",region="dc-a"\} 2/);
    } finally {
      await noRedis.close();
    }
  });
});

describe('access tokens', () => {
  it('GET /login/me returns the user of the token', async () => {
    const { username, id } = await signUp();
    const res = await me((await signIn(username)).accessToken);
    expect(res.statusCode).toBe(200);
    expect(json(res)).toMatchObject({ id, username });
  });

  it('refuses a missing token, another key, an expired token and alg=none', async () => {
    const { username, id } = await signUp();
    const otherSigner = await createTestSigner(signer.kid); // same kid, different key
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const unknownKid = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: 'someone-else' })
      .setSubject(id)
      .setIssuer('failover-lab/login')
      .setAudience('failover-lab')
      .setJti(crypto.randomUUID())
      .setExpirationTime('15m')
      .sign(privateKey);
    const unsigned = [
      Buffer.from(JSON.stringify({ alg: 'none', kid: signer.kid })).toString('base64url'),
      Buffer.from(
        JSON.stringify({
          sub: id,
          iss: 'failover-lab/login',
          aud: 'failover-lab',
          jti: crypto.randomUUID(),
          exp: 9e9,
        }),
      ).toString('base64url'),
      '',
    ].join('.');
    const cases = {
      'other key, same kid': await otherSigner.sign(id),
      'unknown kid': unknownKid,
      expired: await signer.sign(id, { expiresIn: Math.floor(Date.now() / 1000) - 60 }),
      'alg none': unsigned,
      'wrong audience': await signer.sign(id, { aud: 'someone-else' }),
      garbage: 'not.a.jwt',
    };
    for (const [name, token] of Object.entries(cases)) {
      const res = await me(token);
      expect(res.statusCode, name).toBe(401);
      expect(json(res).error.code, name).toBe('LOGIN_ERR_UNAUTHORIZED');
    }
    const missing = await app.inject({ method: 'GET', url: '/login/me' });
    expect(missing.statusCode).toBe(401);
    expect(json(missing).error.code).toBe('LOGIN_ERR_UNAUTHORIZED');
    // the genuine token for the same user still works, so the refusals above are about the token
    expect((await me((await signIn(username)).accessToken)).statusCode).toBe(200);
  });

  it('answers 404 for a valid token whose user does not exist', async () => {
    const res = await me(await signer.sign(crypto.randomUUID()));
    expect(res.statusCode).toBe(404);
    expect(json(res).error.code).toBe('LOGIN_ERR_USER_NOT_FOUND');
  });

  it('publishes the public keys (and only public members) at the JWKS endpoint', async () => {
    const res = await app.inject({ method: 'GET', url: '/login/.well-known/jwks.json' });
    expect(res.statusCode).toBe(200);
    const { keys } = json(res);
    expect(keys).toEqual([expect.objectContaining({ kid: signer.kid, kty: 'OKP', crv: 'Ed25519' })]);
    expect(keys[0]).not.toHaveProperty('d');
  });
});

describe('refresh and sign-out', () => {
  it('rotates the refresh token: the new one works, the old one is single-use', async () => {
    const { username } = await signUp();
    const first = await signIn(username);
    const refresh = (token: string) =>
      app.inject({ method: 'POST', url: '/login/sessions/refresh', payload: { refreshToken: token } });
    const rotated = await refresh(first.refreshToken);
    expect(rotated.statusCode).toBe(200);
    const second = json(rotated);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect((await me(second.accessToken)).statusCode).toBe(200);
    // the same session id carries over
    expect(decodeJwt(second.accessToken).sid).toBe(decodeJwt(first.accessToken).sid);

    // Reuse of the rotated token: 401 and the whole family is revoked, including the newest tokens.
    const reused = await refresh(first.refreshToken);
    expect(reused.statusCode).toBe(401);
    expect(json(reused).error.code).toBe('LOGIN_ERR_REFRESH_TOKEN_REUSED');
    const afterTheft = await refresh(second.refreshToken);
    expect(afterTheft.statusCode).toBe(401);
    expect(json(afterTheft).error.code).toBe('LOGIN_ERR_INVALID_REFRESH_TOKEN');
    const meAfter = await me(second.accessToken);
    expect(meAfter.statusCode).toBe(401);
    expect(json(meAfter).error.code).toBe('LOGIN_ERR_TOKEN_REVOKED');
  });

  it('refuses an unknown refresh token and a malformed one', async () => {
    const unknown = await app.inject({
      method: 'POST',
      url: '/login/sessions/refresh',
      payload: { refreshToken: 'A'.repeat(43) },
    });
    expect(unknown.statusCode).toBe(401);
    expect(json(unknown).error.code).toBe('LOGIN_ERR_INVALID_REFRESH_TOKEN');
    const malformed = await app.inject({
      method: 'POST',
      url: '/login/sessions/refresh',
      payload: { refreshToken: 'short' },
    });
    expect(malformed.statusCode).toBe(400);
  });

  it('DELETE /login/sessions/current revokes the access token and the refresh token, for good', async () => {
    const { username } = await signUp();
    const pair = await signIn(username);
    const other = await signIn(username); // a second session stays alive
    const del = await app.inject({
      method: 'DELETE',
      url: '/login/sessions/current',
      headers: { authorization: `Bearer ${pair.accessToken}` },
    });
    expect(del.statusCode).toBe(204);
    const [revoked] = await tier.primary.query<{ n: string }>(
      'SELECT count(*) AS n FROM revoked_access_tokens WHERE jti = $1',
      [decodeJwt(pair.accessToken).jti],
    );
    expect(Number(revoked!.n)).toBe(1);

    const meRes = await me(pair.accessToken);
    expect(meRes.statusCode).toBe(401);
    expect(json(meRes).error.code).toBe('LOGIN_ERR_TOKEN_REVOKED');
    const refresh = await app.inject({
      method: 'POST',
      url: '/login/sessions/refresh',
      payload: { refreshToken: pair.refreshToken },
    });
    expect(refresh.statusCode).toBe(401);
    expect((await me(other.accessToken)).statusCode).toBe(200);

    // Revoked stays revoked: a fresh cell process reading the same database still refuses it.
    const restarted = await buildTestLoginCell(tier, tier.primary, signer);
    try {
      const again = await restarted.inject({
        method: 'GET',
        url: '/login/me',
        headers: { authorization: `Bearer ${pair.accessToken}` },
      });
      expect(again.statusCode).toBe(401);
      expect(json(again).error.code).toBe('LOGIN_ERR_TOKEN_REVOKED');
    } finally {
      await restarted.close();
    }
  });
});
