// ~1000 generated malformed requests (bodies, headers, paths): each must be a 4xx with an error code,
// and the money must not move (audit identical before and after).
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PaymentsFixture, startPayments } from './helpers';

let f: PaymentsFixture;
let app: FastifyInstance;

beforeAll(async () => {
  f = await startPayments();
  app = f.dcA;
  await f.seed(app, [
    { id: 'fz-alice', owner: 'alice', balance: 1_000_000 },
    { id: 'fz-bob', owner: 'bob', balance: 1_000_000 },
  ]);
});
afterAll(async () => f?.stop());

interface Req {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

/** A transfer that would succeed; every generator below breaks it in at least one way. */
const validTransfer = async (): Promise<Req> => ({
  method: 'POST',
  url: '/payments/transfers',
  headers: {
    authorization: `Bearer ${await f.tokenFor('alice')}`,
    'idempotency-key': `fuzz-${Math.random().toString(36).slice(2)}`,
    'content-type': 'application/json',
  },
  payload: JSON.stringify({ from: 'fz-alice', to: 'fz-bob', amount: 1 }),
});

const badKey = fc.oneof(
  fc.constant(''),
  fc.string({ minLength: 129, maxLength: 300, unit: fc.constantFrom('a', 'b', '1') }),
  fc.string({ minLength: 1, maxLength: 20 }).map((s) => `${s} !`),
  fc.constantFrom('../../etc', 'key;drop', 'ключ', 'a b', 'k\t'),
);
const badAmount = fc.oneof(
  fc.integer({ max: 0 }),
  fc.integer({ min: 10_000_001 }),
  fc.double({ noInteger: true }),
  fc.string(),
  fc.constantFrom(null, true, [], {}, '1', Number.MAX_VALUE, -0.5),
);
const badAccountId = fc.oneof(
  fc.constant(''),
  fc.string({ minLength: 65, maxLength: 100, unit: fc.constantFrom('a', 'z') }),
  fc.string({ minLength: 1, maxLength: 10 }).map((s) => `${s}/ ;'`),
  fc.constantFrom(null, 42, [], {}, "' OR 1=1 --"),
);
const bodyValue = fc.oneof(
  fc.jsonValue().filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
  fc.dictionary(fc.string(), fc.jsonValue()),
  fc.record({ from: fc.constant('fz-alice'), to: fc.constant('fz-bob'), amount: badAmount }),
  fc.record({ from: badAccountId, to: fc.constant('fz-bob'), amount: fc.constant(1) }),
  fc.record({ from: fc.constant('fz-alice'), to: badAccountId, amount: fc.constant(1) }),
  fc.record({
    from: fc.constant('fz-alice'),
    to: fc.constant('fz-bob'),
    amount: fc.constant(1),
    extra: fc.jsonValue(),
  }),
  fc.record({ from: fc.constant('fz-alice'), amount: fc.constant(1) }),
  fc.constant({ from: 'fz-alice', to: 'fz-alice', amount: 1 }),
  fc.constant({ from: 'fz-bob', to: 'fz-alice', amount: 1 }), // not alice's account: the same 404 as a missing one
  fc.constant({ from: 'fz-alice', to: 'nobody', amount: 1 }),
);

type Breaker = (req: Req) => fc.Arbitrary<Req>;
const breakers: Breaker[] = [
  (r) => bodyValue.map((body) => ({ ...r, payload: JSON.stringify(body) })),
  (r) => fc.string({ maxLength: 40 }).map((s) => ({ ...r, payload: `{"from":${s}` })), // broken JSON
  (r) => badKey.map((key) => ({ ...r, headers: { ...r.headers, 'idempotency-key': key } })),
  (r) =>
    fc.constant({
      ...r,
      headers: Object.fromEntries(Object.entries(r.headers).filter(([k]) => k !== 'idempotency-key')),
    }),
  (r) =>
    fc
      .oneof(fc.constant(''), fc.string(), fc.constant('Bearer '), fc.constant('Basic YWRtaW46YWRtaW4='))
      .map((auth) => ({ ...r, headers: { ...r.headers, authorization: auth } })),
  (r) =>
    fc
      .constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
      )
      .map((ct) => ({ ...r, headers: { ...r.headers, 'content-type': ct } })),
  (r) => fc.constantFrom<Req['method']>('PUT', 'DELETE', 'PATCH').map((method) => ({ ...r, method })),
  (r) =>
    fc
      .oneof(
        fc.webPath().map((p) => `/payments${p}x`),
        fc.constantFrom(
          '/payments/transfers/',
          '/payments/transfer',
          '/payments//transfers',
          '/admin/seed/accounts',
          '/admin/promote',
        ),
      )
      .map((url) => ({ ...r, url })),
  (r) =>
    fc
      .oneof(
        fc.string({ minLength: 1, maxLength: 80 }).map(encodeURIComponent),
        fc.constantFrom('%', '%zz', '..%2f..', 'a'.repeat(600)),
      )
      .map((id) => ({ ...r, method: 'GET' as const, url: `/payments/accounts/${id}`, payload: undefined })),
  (r) =>
    fc
      .oneof(
        fc.string({ minLength: 1, maxLength: 80 }).map(encodeURIComponent),
        fc.constantFrom('%', 'a'.repeat(600)),
      )
      .map((key) => ({
        ...r,
        method: 'GET' as const,
        url: `/payments/transfers/${key}`,
        payload: undefined,
      })),
];

describe('malformed requests', () => {
  it('~1000 generated bad requests → 4xx with a code, and the audit is unchanged', async () => {
    const before = await f.audit();
    const base = await validTransfer();
    const seen = new Map<number, number>();
    const arbitrary = fc
      .array(fc.integer({ min: 0, max: breakers.length - 1 }), { minLength: 1, maxLength: 3 })
      .chain((picks) =>
        picks.reduce<fc.Arbitrary<Req>>((acc, i) => acc.chain(breakers[i]!), fc.constant(base)),
      );
    await fc.assert(
      fc.asyncProperty(arbitrary, async (req) => {
        const res = await app.inject({ ...req, headers: { ...req.headers } });
        seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
        // a 200 can only be a read of alice's own account or transfer (a GET breaker hitting a real one)
        if (res.statusCode === 200) {
          expect(req.method).toBe('GET');
          return;
        }
        expect(res.statusCode, `${req.method} ${req.url} ${req.payload}`).toBeGreaterThanOrEqual(400);
        expect(res.statusCode, `${req.method} ${req.url} ${req.payload}`).toBeLessThan(500);
        expect(res.json().error.code).toMatch(/^(PAY|ADMIN)_ERR_[A-Z_]+$/);
      }),
      { numRuns: 1000 },
    );
    expect(await f.audit()).toEqual(before);
    // the generators really reached the different refusals
    for (const status of [400, 401, 404, 415, 422])
      expect(seen.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
  });
});
