// ~1000 generated malformed requests (bodies, headers, paths): each must be a 4xx with an error code,
// and the money must not move (audit identical before and after).
//
// The generated requests are random: a refusal that only a rare combination reaches (422 needs the
// from == to body as the last breaker, with nothing else broken: 3–7 times in 1000) was missed by a
// CI run when the test asserted that every status had been seen. So every breaker also has
// hand-written cases, run first in every run as fast-check `examples`, each with the exact status and
// code it must get: a breaker that stops yielding its refusal fails the test every time, not by
// chance. The seed is chosen here (FUZZ_SEED=<n> replays one) and printed with every failure.
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PaymentsFixture, startPayments } from './helpers';

let f: PaymentsFixture;
let app: FastifyInstance;

/** A key alice has already used for a real transfer: the same key with another body is a 422. */
const USED_KEY = 'fz-used-key';

beforeAll(async () => {
  f = await startPayments();
  app = f.dcA;
  await f.seed(app, [
    { id: 'fz-alice', owner: 'alice', balance: 1_000_000 },
    { id: 'fz-bob', owner: 'bob', balance: 1_000_000 },
  ]);
  const res = await f.transfer(app, 'alice', { from: 'fz-alice', to: 'fz-bob', amount: 1 }, USED_KEY);
  if (res.statusCode !== 201) throw new Error(`setup transfer failed: ${res.statusCode} ${res.body}`);
});
afterAll(async () => f?.stop());

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

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
    'idempotency-key': 'fuzz-base-key', // unused: none of these requests may succeed
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

interface Case {
  req: Req;
  /** For the hand-written cases: the one refusal this breaker must get. */
  want?: { status: number; code: string };
}

/** One or more cases per breaker above, each broken in one way only, with its exact refusal. */
const guaranteed = (base: Req): Case[] => {
  const body = (b: unknown): Req => ({ ...base, payload: JSON.stringify(b) });
  const headers = (h: Record<string, string>): Req => ({ ...base, headers: { ...base.headers, ...h } });
  const get = (url: string): Req => ({ ...base, method: 'GET', url, payload: undefined });
  const withoutKey = Object.fromEntries(
    Object.entries(base.headers).filter(([k]) => k !== 'idempotency-key'),
  );
  const cases: [Req, number, string][] = [
    [body({ from: 'fz-alice', to: 'fz-alice', amount: 1 }), 422, 'PAY_ERR_SAME_ACCOUNT'],
    [
      {
        ...headers({ 'idempotency-key': USED_KEY }),
        payload: JSON.stringify({ from: 'fz-alice', to: 'fz-bob', amount: 2 }),
      },
      422,
      'PAY_ERR_IDEMPOTENCY_MISMATCH', // the key's transfer was amount 1
    ],
    [body({ from: 'fz-alice', to: 'fz-bob', amount: 0 }), 400, 'PAY_ERR_VALIDATION'],
    [body({ from: 'fz-alice', to: 'fz-bob', amount: 1, extra: 1 }), 400, 'PAY_ERR_VALIDATION'],
    [body({ from: 'fz-bob', to: 'fz-alice', amount: 1 }), 404, 'PAY_ERR_ACCOUNT_NOT_FOUND'],
    [body({ from: 'fz-alice', to: 'nobody', amount: 1 }), 404, 'PAY_ERR_ACCOUNT_NOT_FOUND'],
    [{ ...base, payload: '{"from":' }, 400, 'PAY_ERR_VALIDATION'],
    [headers({ 'idempotency-key': 'a b' }), 400, 'PAY_ERR_IDEMPOTENCY_KEY_INVALID'],
    [{ ...base, headers: withoutKey }, 400, 'PAY_ERR_IDEMPOTENCY_KEY_INVALID'],
    [headers({ authorization: 'Basic YWRtaW46YWRtaW4=' }), 401, 'PAY_ERR_UNAUTHORIZED'],
    [headers({ 'content-type': 'application/xml' }), 415, 'PAY_ERR_UNSUPPORTED_MEDIA_TYPE'],
    [{ ...base, method: 'DELETE' }, 404, 'PAY_ERR_NOT_FOUND'],
    [{ ...base, url: '/payments/transfer' }, 404, 'PAY_ERR_NOT_FOUND'],
    [{ ...base, url: '/admin/promote' }, 401, 'ADMIN_ERR_UNAUTHORIZED'],
    [get('/payments/accounts/%zz'), 400, 'PAY_ERR_VALIDATION'],
    [get('/payments/accounts/fz-bob'), 404, 'PAY_ERR_ACCOUNT_NOT_FOUND'],
    [get('/payments/transfers/never-used'), 404, 'PAY_ERR_TRANSFER_NOT_FOUND'],
  ];
  return cases.map(([req, status, code]) => ({ req, want: { status, code } }));
};

describe('malformed requests', () => {
  it('~1000 generated bad requests → 4xx with a code, and the audit is unchanged', async () => {
    const before = await f.audit();
    const base = await validTransfer();
    const seen = new Map<number, number>(); // statuses of the generated requests (not the examples)
    const examples = guaranteed(base);
    const arbitrary = fc
      .array(fc.integer({ min: 0, max: breakers.length - 1 }), { minLength: 1, maxLength: 3 })
      .chain((picks) =>
        picks.reduce<fc.Arbitrary<Req>>((acc, i) => acc.chain(breakers[i]!), fc.constant(base)),
      )
      .map((req): Case => ({ req }));
    await fc.assert(
      fc.asyncProperty(arbitrary, async ({ req, want }) => {
        const res = await app.inject({ ...req, headers: { ...req.headers } });
        const what = `${req.method} ${req.url} ${req.payload} → ${res.statusCode} ${res.body.slice(0, 200)}`;
        if (want) {
          expect({ status: res.statusCode, code: res.json().error?.code }, what).toEqual(want);
          return;
        }
        seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
        // a 200 can only be a read of alice's own account or transfer (a GET breaker hitting a real one)
        if (res.statusCode === 200) {
          expect(req.method, what).toBe('GET');
          return;
        }
        expect(res.statusCode, what).toBeGreaterThanOrEqual(400);
        expect(res.statusCode, what).toBeLessThan(500);
        expect(res.json().error.code, what).toMatch(/^(PAY|ADMIN)_ERR_[A-Z_]+$/);
      }),
      { numRuns: 1000, seed, examples: examples.map((c): [Case] => [c]) },
    );
    const replay = `seed ${seed} (FUZZ_SEED=${seed} replays it), statuses seen ${JSON.stringify([...seen])}`;
    expect(await f.audit(), replay).toEqual(before);
    // The generators reach the common refusals by themselves: in 30 runs of 1000 each came at least
    // 46 times (415, the rarest; 401 ≥ 109, 404 ≥ 232, 400 ≥ 524), so a run that misses one has a
    // chance below e^-46. 422 came 3–7 times a run: a run without any is ~1 in 150, so it is not
    // asserted here but certain through the examples, which check its exact status and code.
    for (const status of [400, 401, 404, 415])
      expect(seen.get(status) ?? 0, `status ${status}, ${replay}`).toBeGreaterThan(0);
  });
});
