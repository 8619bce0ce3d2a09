// Each payments endpoint's success and failure paths on a real primary + synchronous standby.

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { errorCodesInSource, undocumentedCodes } from '@failover-lab/cell-kit/testing';
import { DEADLINE_HEADER } from '@failover-lab/contracts';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TRANSFER_AMOUNT, paymentErrors } from '../src/index';
import { type PaymentsFixture, startPayments, uniqueKey } from './helpers';

let f: PaymentsFixture;

beforeAll(async () => {
  f = await startPayments();
  await f.seed(f.dcA, [
    { id: 'alice-1', owner: 'alice', balance: 10_000 },
    { id: 'alice-2', owner: 'alice', balance: 0 },
    { id: 'bob-1', owner: 'bob', balance: 5_000 },
    { id: 'carol-1', owner: 'carol', balance: 1_000 },
    { id: 'dave-1', owner: 'dave', balance: 0 },
  ]);
});
afterAll(async () => f?.stop());

const balanceOf = async (id: string, owner: string) =>
  (
    await f.dcA.inject({
      url: `/payments/accounts/${id}`,
      headers: { authorization: `Bearer ${await f.tokenFor(owner)}` },
    })
  ).json().balance as number;

describe('POST /admin/seed/accounts', () => {
  it('is idempotent on id: a second seed changes nothing', async () => {
    const before = await f.audit();
    const res = await f.dcA.inject({
      method: 'POST',
      url: '/admin/seed/accounts',
      headers: f.adminHeaders,
      payload: { accounts: [{ id: 'alice-1', owner: 'mallory', balance: 999_999 }] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ inserted: 0, existing: 1 });
    expect(await f.audit()).toEqual(before);
  });

  it('needs the admin token and a valid body', async () => {
    const payload = { accounts: [{ id: 'x-1', owner: 'x', balance: 1 }] };
    const noToken = await f.dcA.inject({ method: 'POST', url: '/admin/seed/accounts', payload });
    expect(noToken.statusCode).toBe(401);
    expect(noToken.json().error.code).toBe('ADMIN_ERR_UNAUTHORIZED');
    for (const accounts of [
      [],
      [{ id: 'bad id', owner: 'x', balance: 1 }],
      [{ id: 'y', owner: 'x', balance: -1 }],
    ]) {
      const res = await f.dcA.inject({
        method: 'POST',
        url: '/admin/seed/accounts',
        headers: f.adminHeaders,
        payload: { accounts },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('PAY_ERR_VALIDATION');
    }
  });
});

describe('GET /payments/accounts/:id', () => {
  it('returns the caller’s own account', async () => {
    const res = await f.dcA.inject({
      url: '/payments/accounts/bob-1',
      headers: { authorization: `Bearer ${await f.tokenFor('bob')}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: 'bob-1', owner: 'bob', balance: 5_000 });
  });

  it('answers someone else’s account exactly like a missing one (404)', async () => {
    const auth = { authorization: `Bearer ${await f.tokenFor('alice')}` };
    const other = await f.dcA.inject({ url: '/payments/accounts/bob-1', headers: auth });
    const missing = await f.dcA.inject({ url: '/payments/accounts/nobody', headers: auth });
    expect(other.statusCode).toBe(404);
    expect(other.json().error.code).toBe('PAY_ERR_ACCOUNT_NOT_FOUND');
    expect(missing.json().error.code).toBe('PAY_ERR_ACCOUNT_NOT_FOUND');
  });

  it('401 without a token, 400 for an id outside the pattern', async () => {
    expect((await f.dcA.inject({ url: '/payments/accounts/bob-1' })).json().error.code).toBe(
      'PAY_ERR_UNAUTHORIZED',
    );
    const bad = await f.dcA.inject({
      url: '/payments/accounts/a%20b',
      headers: { authorization: `Bearer ${await f.tokenFor('bob')}` },
    });
    expect(bad.statusCode).toBe(400);
  });
});

describe('POST /payments/transfers', () => {
  it('moves money with two ledger rows and answers 201', async () => {
    const key = uniqueKey();
    const res = await f.transfer(f.dcA, 'alice', { from: 'alice-1', to: 'bob-1', amount: 700 }, key);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      idempotencyKey: key,
      from: 'alice-1',
      to: 'bob-1',
      amount: 700,
      status: 'completed',
    });
    expect(res.headers['idempotent-replay']).toBeUndefined();
    expect(await balanceOf('alice-1', 'alice')).toBe(9_300);
    expect(await balanceOf('bob-1', 'bob')).toBe(5_700);
    const rows = await f.tier.primary.query<{ amount: string }>(
      'SELECT l.amount FROM ledger_entries l JOIN transfers t ON t.id = l.transfer_id WHERE t.idempotency_key = $1',
      [key],
    );
    expect(rows.map((r) => Number(r.amount)).sort((a, b) => a - b)).toEqual([-700, 700]);
  });

  it('a replay returns the original status and body, with idempotent-replay, and moves money once', async () => {
    const key = uniqueKey();
    const body = { from: 'bob-1', to: 'carol-1', amount: 250 };
    const first = await f.transfer(f.dcA, 'bob', body, key);
    const before = await f.audit();
    const second = await f.transfer(f.dcA, 'bob', body, key);
    const third = await f.transfer(f.dcA, 'bob', body, key);
    expect(first.statusCode).toBe(201);
    for (const again of [second, third]) {
      expect(again.statusCode).toBe(201);
      expect(again.json()).toEqual(first.json());
      expect(again.headers['idempotent-replay']).toBe('true');
    }
    expect(await f.audit()).toEqual(before);
    expect(await balanceOf('carol-1', 'carol')).toBe(1_250);
  });

  it('the same key with a different body is 422 PAY_ERR_IDEMPOTENCY_MISMATCH and changes nothing', async () => {
    const key = uniqueKey();
    expect(
      (await f.transfer(f.dcA, 'bob', { from: 'bob-1', to: 'carol-1', amount: 10 }, key)).statusCode,
    ).toBe(201);
    const before = await f.audit();
    const res = await f.transfer(f.dcA, 'bob', { from: 'bob-1', to: 'carol-1', amount: 11 }, key);
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('PAY_ERR_IDEMPOTENCY_MISMATCH');
    expect(await f.audit()).toEqual(before);
  });

  it('keys belong to their caller: a key someone else claimed first neither blocks nor leaks', async () => {
    const key = `predictable-${uniqueKey()}`;
    const carols = await f.transfer(f.dcA, 'carol', { from: 'carol-1', to: 'bob-1', amount: 3 }, key);
    expect(carols.statusCode).toBe(201);
    const bobs = await f.transfer(f.dcA, 'bob', { from: 'bob-1', to: 'carol-1', amount: 4 }, key);
    expect(bobs.statusCode).toBe(201);
    expect(bobs.headers['idempotent-replay']).toBeUndefined();
    expect(bobs.json()).toMatchObject({ from: 'bob-1', amount: 4 });
    // each reads back their own, and a replay is still a replay within one caller
    const read = async (user: string) =>
      (
        await f.dcA.inject({
          url: `/payments/transfers/${key}`,
          headers: { authorization: `Bearer ${await f.tokenFor(user)}` },
        })
      ).json();
    expect(await read('carol')).toMatchObject({ from: 'carol-1', amount: 3 });
    expect(await read('bob')).toMatchObject({ from: 'bob-1', amount: 4 });
    expect((await read('alice')).error.code).toBe('PAY_ERR_TRANSFER_NOT_FOUND');
    const again = await f.transfer(f.dcA, 'bob', { from: 'bob-1', to: 'carol-1', amount: 4 }, key);
    expect(again.headers['idempotent-replay']).toBe('true');
  });

  it("a transfer naming a missing or someone else's account answers exactly like GET does", async () => {
    const auth = { authorization: `Bearer ${await f.tokenFor('alice')}` };
    const get = (await f.dcA.inject({ url: '/payments/accounts/nobody', headers: auth })).json();
    for (const body of [
      { from: 'alice-1', to: 'nobody', amount: 1 },
      { from: 'nobody', to: 'bob-1', amount: 1 },
      { from: 'bob-1', to: 'alice-1', amount: 1 },
    ]) {
      const res = await f.transfer(f.dcA, 'alice', body, uniqueKey());
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual(get);
    }
  });

  it('no overdraft: 409 PAY_ERR_INSUFFICIENT_FUNDS, recorded for the key, nothing moved', async () => {
    const before = await f.audit();
    const key = uniqueKey();
    const res = await f.transfer(f.dcA, 'dave', { from: 'dave-1', to: 'bob-1', amount: 1 }, key);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('PAY_ERR_INSUFFICIENT_FUNDS');
    const replay = await f.transfer(f.dcA, 'dave', { from: 'dave-1', to: 'bob-1', amount: 1 }, key);
    expect(replay.statusCode).toBe(409);
    expect(replay.headers['idempotent-replay']).toBe('true');
    const after = await f.audit();
    expect(after).toEqual({ ...before, rejectedTransfers: before.rejectedTransfers + 1 });
  });

  it.each([
    ['amount 0', { from: 'alice-1', to: 'bob-1', amount: 0 }, 400, 'PAY_ERR_VALIDATION'],
    ['negative amount', { from: 'alice-1', to: 'bob-1', amount: -5 }, 400, 'PAY_ERR_VALIDATION'],
    ['fractional amount', { from: 'alice-1', to: 'bob-1', amount: 1.5 }, 400, 'PAY_ERR_VALIDATION'],
    ['amount as a string', { from: 'alice-1', to: 'bob-1', amount: '5' }, 400, 'PAY_ERR_VALIDATION'],
    [
      'amount over the limit',
      { from: 'alice-1', to: 'bob-1', amount: MAX_TRANSFER_AMOUNT + 1 },
      400,
      'PAY_ERR_VALIDATION',
    ],
    ['extra property', { from: 'alice-1', to: 'bob-1', amount: 1, fee: 0 }, 400, 'PAY_ERR_VALIDATION'],
    ['same account', { from: 'alice-1', to: 'alice-1', amount: 1 }, 422, 'PAY_ERR_SAME_ACCOUNT'],
    ['unknown source', { from: 'ghost', to: 'bob-1', amount: 1 }, 404, 'PAY_ERR_ACCOUNT_NOT_FOUND'],
    ['unknown target', { from: 'alice-1', to: 'ghost', amount: 1 }, 404, 'PAY_ERR_ACCOUNT_NOT_FOUND'],
    ['someone else’s source', { from: 'bob-1', to: 'alice-1', amount: 1 }, 404, 'PAY_ERR_ACCOUNT_NOT_FOUND'],
  ])('%s → %s %s, nothing changed', async (_name, body, status, code) => {
    const before = await f.audit();
    const res = await f.transfer(f.dcA, 'alice', body, uniqueKey());
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect(await f.audit()).toEqual(before);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['too long', 'k'.repeat(129)],
    ['bad characters', 'key with spaces'],
  ])('Idempotency-Key %s → 400 PAY_ERR_IDEMPOTENCY_KEY_INVALID', async (_name, key) => {
    const res = await f.transfer(f.dcA, 'alice', { from: 'alice-1', to: 'bob-1', amount: 1 }, key);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('PAY_ERR_IDEMPOTENCY_KEY_INVALID');
  });

  it('an unauthenticated request is 401 before its body is even validated', async () => {
    const res = await f.dcA.inject({
      method: 'POST',
      url: '/payments/transfers',
      payload: { nonsense: true },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('PAY_ERR_UNAUTHORIZED');
  });

  it('accepts a 128-character key', async () => {
    const res = await f.transfer(
      f.dcA,
      'alice',
      { from: 'alice-1', to: 'alice-2', amount: 1 },
      `${'k'.repeat(100)}${uniqueKey()}`.slice(-128),
    );
    expect(res.statusCode).toBe(201);
  });

  it('50 concurrent transfers from one account never overdraw it', async () => {
    await f.seed(f.dcA, [
      { id: 'race-src', owner: 'racer', balance: 1_000 },
      { id: 'race-dst', owner: 'sink', balance: 0 },
    ]);
    const before = await f.audit();
    // A client retries a 503 (pool exhausted on a busy machine) with the same key, as the router would.
    const transferUntilDecided = async () => {
      const key = uniqueKey('race');
      for (;;) {
        const res = await f.transfer(f.dcA, 'racer', { from: 'race-src', to: 'race-dst', amount: 30 }, key);
        if (res.statusCode !== 503) return res;
        expect(res.json().error.code).toBe('PAY_ERR_UNAVAILABLE');
      }
    };
    const results = await Promise.all(Array.from({ length: 50 }, transferUntilDecided));
    const statuses = results.map((r) => r.statusCode);
    const completed = statuses.filter((s) => s === 201).length;
    expect(statuses.filter((s) => s !== 201 && s !== 409)).toEqual([]);
    expect(completed).toBe(Math.floor(1_000 / 30));
    expect(await balanceOf('race-src', 'racer')).toBe(1_000 - 30 * completed);
    const after = await f.audit();
    expect(after).toMatchObject({
      totalBalance: before.totalBalance,
      negativeBalances: 0,
      accountsOutOfBalance: 0,
      ledgerImbalance: 0,
      transfers: before.transfers + completed,
    });
  });

  it('a transfer stuck behind a locked account gives up at its deadline, not when the lock is freed', async () => {
    // Behind a burst of held requests (a failover), a request that cannot commit in time must not
    // wait for a hot row, take it and then fail at COMMIT: every such doomed holder delays the rest.
    await f.seed(f.dcA, [
      { id: 'hot-src', owner: 'hot', balance: 100 },
      { id: 'hot-dst', owner: 'cold', balance: 0 },
    ]);
    const before = await f.audit();
    const holder = new pg.Client({ connectionString: f.tier.primary.databaseUrl });
    await holder.connect();
    const key = uniqueKey('hot');
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT 1 FROM accounts WHERE id = 'hot-dst' FOR UPDATE");
      // the row stays locked until this answer is in: it can only come from the lock wait ending
      const res = await f.transfer(f.dcA, 'hot', { from: 'hot-src', to: 'hot-dst', amount: 5 }, key, {
        [DEADLINE_HEADER]: String(Date.now() + 1_000),
      });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('PAY_ERR_DEADLINE_EXCEEDED');
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end();
    }
    expect(await f.audit()).toEqual(before);
    // nothing was decided for the key: sent again once the row is free, it completes
    const again = await f.transfer(f.dcA, 'hot', { from: 'hot-src', to: 'hot-dst', amount: 5 }, key);
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replay']).toBeUndefined();
  });

  it('the transfer commits inside Postgres under the commit guard: a deadline past at COMMIT rolls it back', async () => {
    await f.seed(f.dcA, [
      { id: 'guard-src', owner: 'guard', balance: 100 },
      { id: 'guard-dst', owner: 'sink', balance: 0 },
    ]);
    const before = await f.audit();
    const client = new pg.Client({ connectionString: f.tier.primary.databaseUrl });
    await client.connect();
    try {
      const key = uniqueKey('guard');
      const call = (deadline: string | null) =>
        client.query('CALL payments_transfer_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)', [
          'on',
          deadline,
          deadline === null ? null : 1_000,
          JSON.stringify(['transfer', 'guard', key]),
          'guard',
          key,
          'hash',
          'guard-src',
          'guard-dst',
          7,
          'PAY_ERR_INSUFFICIENT_FUNDS',
        ]);
      // the procedure's own COMMIT runs the guard, with the deadline it was given
      await expect(call(String(Date.now() - 1_000))).rejects.toMatchObject({ code: 'FL001' });
      expect(await f.audit()).toEqual(before);
      // the session is usable and nothing is left open: the same call without a deadline commits
      const { rows } = await call(null);
      expect(rows[0]).toMatchObject({ kind: 'decided', outcome: 'completed', status_code: 201 });
      expect((await f.audit()).transfers).toBe(before.transfers + 1);
    } finally {
      await client.end();
    }
  });

  it('concurrent requests with one key apply once and all answer the same', async () => {
    const key = uniqueKey('same');
    const body = { from: 'alice-1', to: 'carol-1', amount: 3 };
    const before = await f.audit();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => f.transfer(f.dcA, 'alice', body, key)),
    );
    expect(new Set(results.map((r) => r.body)).size).toBe(1);
    expect(results.filter((r) => r.headers['idempotent-replay'] === 'true')).toHaveLength(9);
    expect((await f.audit()).transfers).toBe(before.transfers + 1);
  });

  it('the payments_transfers_total metric counts outcomes', async () => {
    const text = (await f.dcA.inject('/metrics')).body;
    for (const outcome of ['completed', 'replayed', 'insufficient_funds', 'rejected']) {
      expect(text).toMatch(new RegExp(`payments_transfers_total\\{[^}]*outcome="${outcome}"[^}]*\\} [1-9]`));
    }
    expect(text).toMatch(
      /payments_transfers_total\{outcome="completed",service="payments",region="dc-a"\} [1-9]/,
    );
  });
});

describe('GET /payments/transfers/:idempotencyKey', () => {
  it('shows the record to the source owner and to the admin token, to nobody else', async () => {
    const key = uniqueKey('audit');
    const created = await f.transfer(f.dcA, 'alice', { from: 'alice-1', to: 'bob-1', amount: 5 }, key);
    const asOwner = await f.dcA.inject({
      url: `/payments/transfers/${key}`,
      headers: { authorization: `Bearer ${await f.tokenFor('alice')}` },
    });
    expect(asOwner.statusCode).toBe(200);
    expect(asOwner.json()).toMatchObject({
      idempotencyKey: key,
      outcome: 'completed',
      statusCode: 201,
      amount: 5,
      response: created.json(),
    });
    const asAdmin = await f.dcA.inject({ url: `/payments/transfers/${key}`, headers: f.adminHeaders });
    expect(asAdmin.statusCode).toBe(200);
    const asTarget = await f.dcA.inject({
      url: `/payments/transfers/${key}`,
      headers: { authorization: `Bearer ${await f.tokenFor('bob')}` },
    });
    expect(asTarget.statusCode).toBe(404);
    expect(asTarget.json().error.code).toBe('PAY_ERR_TRANSFER_NOT_FOUND');
    const anonymous = await f.dcA.inject({ url: `/payments/transfers/${key}` });
    expect(anonymous.statusCode).toBe(401);
    const unknown = await f.dcA.inject({
      url: `/payments/transfers/${uniqueKey()}`,
      headers: f.adminHeaders,
    });
    expect(unknown.statusCode).toBe(404);
  });
});

describe('GET /admin/audit/payments', () => {
  it('money is conserved and the ledger balances after everything above', async () => {
    const a = await f.audit();
    expect(a.totalBalance).toBe(a.openingBalance);
    expect(a).toMatchObject({ negativeBalances: 0, accountsOutOfBalance: 0, ledgerImbalance: 0 });
    expect(a.ledgerEntries).toBe(a.transfers * 2);
    expect(a.transfers).toBeGreaterThan(30);
  });

  it('needs the admin token', async () => {
    const res = await f.dcA.inject({
      url: '/admin/audit/payments',
      headers: { authorization: `Bearer ${await f.tokenFor('alice')}` },
    });
    expect(res.statusCode).toBe(401);
  });
});

describe('error codes', () => {
  it('every code payments uses is in its table and in its README', async () => {
    const readme = await readFile(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    const used = await errorCodesInSource(fileURLToPath(new URL('../src', import.meta.url)), 'PAY');
    expect(used.size).toBeGreaterThan(5);
    for (const code of used)
      expect(paymentErrors.has(code) || code.startsWith('ADMIN_ERR_'), code).toBe(true);
    expect(undocumentedCodes(paymentErrors, readme)).toEqual([]);
    for (const code of ['ADMIN_ERR_UNAUTHORIZED', 'ADMIN_ERR_STALE_EPOCH']) expect(readme).toContain(code);
  });
});
