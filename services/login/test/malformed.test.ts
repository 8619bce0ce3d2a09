// ~1000 generated malformed requests (bodies, headers, paths): each gets a 4xx with a LOGIN_ERR_* code,
// and no row changes anywhere.

import type { TestSigner } from '@failover-lab/cell-kit/testing';
import type { TestDataTier } from '@failover-lab/lab/testing';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import type { InjectOptions } from 'light-my-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestLoginCell, createTestSigner, PASSWORD, rowCounts, startTier } from './helpers';

let tier: TestDataTier;
let signer: TestSigner;
let app: FastifyInstance;

beforeAll(async () => {
  tier = await startTier({ service: 'login' });
  signer = await createTestSigner();
  app = await buildTestLoginCell(tier, tier.primary, signer);
  // one real user, so malformed requests have something to (not) change
  await app.inject({
    method: 'POST',
    url: '/login/users',
    payload: { username: 'existing_user', password: PASSWORD },
  });
});
afterAll(async () => {
  await app?.close();
  await tier?.stop();
});

const VALID_USERNAME = /^[a-z0-9_.-]{3,32}$/;
const printable = fc.string({ maxLength: 80 }).filter((s) => /^[\x20-\x7e]*$/.test(s));

const badUsername = fc.oneof(
  fc.string({ maxLength: 40 }).filter((s) => !VALID_USERNAME.test(s)),
  fc.integer(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 2 }),
);
const badPassword = fc.oneof(
  fc.string({ maxLength: 11 }),
  fc.string({ minLength: 257, maxLength: 300 }),
  fc.integer(),
  fc.boolean(),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
);
const goodUsername = fc.stringMatching(/^[a-z0-9_.-]{3,32}$/);

const malformedCredentials: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ username: badUsername, password: fc.constant(PASSWORD) }),
  fc.record({ username: goodUsername, password: badPassword }),
  fc.record({ username: goodUsername }),
  fc.record({ password: fc.constant(PASSWORD) }),
  fc.record({ username: goodUsername, password: fc.constant(PASSWORD), extra: fc.jsonValue() }),
  fc.oneof(
    fc.integer(),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.jsonValue(), { maxLength: 3 }),
  ),
);

const malformedRefresh: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ refreshToken: fc.string({ maxLength: 19 }) }),
  fc.record({
    refreshToken: fc.string({ minLength: 20, maxLength: 60 }).filter((s) => !/^[A-Za-z0-9_-]+$/.test(s)),
  }),
  // schema-valid but never issued: must be a 401, not a change
  fc.record({ refreshToken: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/) }),
  fc.record({ token: fc.string() }),
  fc.jsonValue(),
);

const bodyRequest: fc.Arbitrary<InjectOptions> = fc
  .oneof(
    fc.record({
      method: fc.constant('POST' as const),
      url: fc.constantFrom('/login/users', '/login/sessions'),
      body: malformedCredentials,
    }),
    fc.record({
      method: fc.constant('POST' as const),
      url: fc.constant('/login/sessions/refresh'),
      body: malformedRefresh,
    }),
  )
  .map(({ method, url, body }) => ({
    method,
    url,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(body) ?? 'undefined',
  }));

const rawBodyRequest: fc.Arbitrary<InjectOptions> = fc
  .record({
    url: fc.constantFrom('/login/users', '/login/sessions', '/login/sessions/refresh'),
    contentType: fc.constantFrom(
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'image/png',
      '',
    ),
    payload: fc.oneof(printable, fc.constant('{"username":'), fc.constant('{"__proto__":{"x":1}}')),
  })
  .filter(({ contentType, payload }) => !(contentType === 'application/json' && isJsonObject(payload)))
  .map(({ url, contentType, payload }) => ({
    method: 'POST' as const,
    url,
    headers: contentType ? { 'content-type': contentType } : {},
    payload,
  }));

function isJsonObject(text: string): boolean {
  try {
    const value = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) && !('__proto__' in value);
  } catch {
    return false;
  }
}

const headerRequest: fc.Arbitrary<InjectOptions> = fc
  .record({
    route: fc.constantFrom(
      { method: 'GET' as const, url: '/login/me' },
      { method: 'DELETE' as const, url: '/login/sessions/current' },
    ),
    authorization: fc.oneof(
      printable,
      printable.map((s) => `Bearer ${s}`),
      fc
        .tuple(printable, printable, printable)
        .map((parts) => `Bearer ${parts.map((p) => Buffer.from(p).toString('base64url')).join('.')}`),
    ),
    epoch: fc.option(printable, { nil: undefined }),
  })
  .map(({ route, authorization, epoch }) => ({
    ...route,
    headers: { authorization, ...(epoch === undefined ? {} : { 'x-failover-epoch': epoch }) },
  }));

const pathRequest: fc.Arbitrary<InjectOptions> = fc
  .record({
    method: fc.constantFrom(
      'GET' as const,
      'POST' as const,
      'PUT' as const,
      'PATCH' as const,
      'DELETE' as const,
    ),
    path: fc.array(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 4 }),
  })
  .map(({ method, path }) => ({ method, url: `/login/${path.map(encodeURIComponent).join('/')}` }));

describe('malformed requests to login', () => {
  it('get a 4xx with a LOGIN_ERR_* code and change no row', async () => {
    const before = await rowCounts(tier.primary);
    let sent = 0;
    const check = async (request: InjectOptions) => {
      const res = await app.inject(request);
      sent += 1;
      expect(
        res.statusCode,
        `${request.method} ${request.url} ${String(request.payload)}`,
      ).toBeGreaterThanOrEqual(400);
      expect(
        res.statusCode,
        `${request.method} ${request.url} ${String(request.payload)} → ${res.body}`,
      ).toBeLessThan(500);
      expect(JSON.parse(res.body).error.code).toMatch(/^LOGIN_ERR_[A-Z_]+$/);
    };
    await fc.assert(fc.asyncProperty(bodyRequest, check), { numRuns: 400 });
    await fc.assert(fc.asyncProperty(rawBodyRequest, check), { numRuns: 200 });
    await fc.assert(fc.asyncProperty(headerRequest, check), { numRuns: 200 });
    await fc.assert(fc.asyncProperty(pathRequest, check), { numRuns: 200 });
    expect(sent).toBeGreaterThanOrEqual(1000);
    expect(await rowCounts(tier.primary)).toEqual(before);
  });
});
