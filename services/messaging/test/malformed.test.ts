// ~1000 generated malformed requests (bodies, headers, paths, queries): each gets a 4xx with an
// MSG_ERR_* code, and the messages table does not change.

import { randomUUID } from 'node:crypto';
import type { TestSigner } from '@failover-lab/cell-kit/testing';
import type { TestDataTier } from '@failover-lab/lab/testing';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import type { InjectOptions } from 'light-my-request';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListQuery } from '../src/schemas';
import { buildTestMessagingCell, createTestSigner, messageCount, startTier } from './helpers';

let tier: TestDataTier;
let signer: TestSigner;
let app: FastifyInstance;
let token: string;

beforeAll(async () => {
  tier = await startTier({ service: 'messaging' });
  signer = await createTestSigner();
  app = await buildTestMessagingCell(tier, tier.primary, signer);
  token = await signer.sign('fuzzer');
  await app.inject({
    method: 'POST',
    url: '/messaging/rooms/lobby/messages',
    headers: { authorization: `Bearer ${token}` },
    payload: { id: randomUUID(), body: 'seed' },
  });
});
afterAll(async () => {
  await app?.close();
  await tier?.stop();
});

const VALID_ROOM = /^[a-zA-Z0-9_-]{1,64}$/;
const printable = fc.string({ maxLength: 80 }).filter((s) => /^[\x20-\x7e]*$/.test(s));
const badRoom = fc.string({ maxLength: 70 }).filter((s) => s.length > 0 && !VALID_ROOM.test(s));
const goodRoom = fc.stringMatching(/^[a-zA-Z0-9_-]{1,64}$/);
const goodBody = fc.string({ minLength: 1, maxLength: 50 });

const malformedMessage: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ id: fc.string({ maxLength: 40 }), body: goodBody }),
  fc.record({
    id: fc.uuid(),
    body: fc.oneof(fc.constant(''), fc.string({ minLength: 4001, maxLength: 4100 })),
  }),
  fc.record({ id: fc.uuid(), body: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string())) }),
  fc.record({ id: fc.uuid() }),
  fc.record({ body: goodBody }),
  fc.record({ id: fc.uuid(), body: goodBody, author: fc.jsonValue() }),
  fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 3 })),
);

const auth = () => ({ authorization: `Bearer ${token}` });

/**
 * A query limit the route takes: query strings are converted to the schema's types before the check
 * (TypeBoxValidatorCompiler: Value.Convert, then Check), and the conversion makes a number of much
 * more than digits — "7.", "+35", "0x8", "1e2", "8.40", "true" are all valid limits. Excluding only
 * digit strings let ~1 run in 140 draw one of these and get a 200 (1000 simulated runs: 7).
 */
const acceptedLimit = (limit: string) => Value.Check(ListQuery, Value.Convert(ListQuery, { limit }));

const bodyRequest: fc.Arbitrary<InjectOptions> = fc
  .record({ room: goodRoom, body: malformedMessage })
  .map(({ room, body }) => ({
    method: 'POST' as const,
    url: `/messaging/rooms/${room}/messages`,
    headers: { ...auth(), 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  }));

const badRoomRequest: fc.Arbitrary<InjectOptions> = fc
  .record({
    room: badRoom,
    suffix: fc.constantFrom('messages', 'unread', 'stream'),
    method: fc.constantFrom('GET', 'POST'),
  })
  .map(({ room, suffix, method }) => ({
    method: (suffix === 'messages' ? method : 'GET') as 'GET' | 'POST',
    url: `/messaging/rooms/${encodeURIComponent(room)}/${suffix}`,
    headers: auth(),
    payload:
      method === 'POST' && suffix === 'messages' ? { id: randomUUID(), body: 'valid body' } : undefined,
  }));

const badQueryRequest: fc.Arbitrary<InjectOptions> = fc
  .oneof(
    fc.record({
      limit: fc.oneof(
        fc.integer({ max: 0 }),
        fc.integer({ min: 201 }),
        printable.filter((s) => !acceptedLimit(s)),
      ),
    }),
    fc.record({ after: printable.filter((s) => !/^[A-Za-z0-9_-]{1,64}$/.test(s)) }),
    // pattern-valid strings that are no cursor we issued
    fc.record({
      after: fc
        .stringMatching(/^[A-Za-z0-9_-]{1,12}$/)
        .filter((s) => !Buffer.from(s, 'base64url').toString().startsWith('v1.')),
    }),
    fc.record({ [`x${Math.random().toString(36).slice(2, 5)}`]: printable }),
  )
  .map((query) => ({
    method: 'GET' as const,
    url: `/messaging/rooms/lobby/messages?${new URLSearchParams(query as Record<string, string>).toString()}`,
    headers: auth(),
  }));

const headerRequest: fc.Arbitrary<InjectOptions> = fc
  .record({
    authorization: fc.oneof(
      printable,
      printable.map((s) => `Bearer ${s}`),
    ),
    url: fc.constantFrom('/messaging/rooms/lobby/messages', '/messaging/rooms/lobby/unread'),
    method: fc.constantFrom('GET' as const, 'POST' as const),
  })
  .map(({ authorization, url, method }) => ({
    method: url.endsWith('unread') ? 'GET' : method,
    url,
    headers: { authorization },
    payload: method === 'POST' ? { id: randomUUID(), body: 'no token, no message' } : undefined,
  }));

const pathRequest: fc.Arbitrary<InjectOptions> = fc
  .record({
    method: fc.constantFrom('GET' as const, 'POST' as const, 'PUT' as const, 'DELETE' as const),
    path: fc.array(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 4 }),
  })
  .map(({ method, path }) => ({
    method,
    url: `/messaging/${path.map(encodeURIComponent).join('/')}`,
    headers: auth(),
  }));

describe('malformed requests to messaging', () => {
  it('get a 4xx with an MSG_ERR_* code and change no row', async () => {
    const before = await messageCount(tier.primary);
    let sent = 0;
    const check = async (request: InjectOptions) => {
      const res = await app.inject(request);
      sent += 1;
      const what = `${request.method} ${request.url} ${JSON.stringify(request.payload)} → ${res.statusCode} ${res.body.slice(0, 200)}`;
      expect(res.statusCode, what).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, what).toBeLessThan(500);
      expect(JSON.parse(res.body).error.code, what).toMatch(/^MSG_ERR_[A-Z_]+$/);
    };
    await fc.assert(fc.asyncProperty(bodyRequest, check), { numRuns: 300 });
    await fc.assert(fc.asyncProperty(badRoomRequest, check), { numRuns: 200 });
    await fc.assert(fc.asyncProperty(badQueryRequest, check), { numRuns: 200 });
    await fc.assert(fc.asyncProperty(headerRequest, check), { numRuns: 150 });
    await fc.assert(fc.asyncProperty(pathRequest, check), { numRuns: 150 });
    expect(sent).toBeGreaterThanOrEqual(1000);
    expect(await messageCount(tier.primary)).toBe(before);
  });
});
