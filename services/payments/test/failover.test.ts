// A hand-driven failover: dc-a (primary, epoch 1) frozen, dc-b promoted to epoch 2; every transfer
// acknowledged by dc-a is on dc-b (sync commit), dc-b takes writes, and dc-a — frozen and then thawed —
// refuses writes carrying the new epoch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PaymentsFixture, startPayments, uniqueKey } from './helpers';

let f: PaymentsFixture;
let frozen = false;

beforeAll(async () => {
  f = await startPayments({ dcBApp: true });
  await f.seed(f.dcA, [
    { id: 'fo-alice', owner: 'alice', balance: 100_000 },
    { id: 'fo-bob', owner: 'bob', balance: 100_000 },
  ]);
});
afterAll(async () => {
  if (frozen) f?.tier.primary.kill('SIGCONT');
  await f?.stop();
});

const promote = (app: NonNullable<PaymentsFixture['dcB']>, epoch: number) =>
  app.inject({ method: 'POST', url: '/admin/promote', headers: f.adminHeaders, payload: { epoch } });

describe('failover dc-a → dc-b', () => {
  const acknowledged: { key: string; body: object; response: string }[] = [];

  it('dc-a claims epoch 1 and acknowledges transfers carrying it', async () => {
    expect((await promote(f.dcA, 1)).json()).toMatchObject({ role: 'primary', epoch: 1, wasStandby: false });
    for (let i = 0; i < 20; i++) {
      const key = uniqueKey('fo');
      const body = { from: 'fo-alice', to: 'fo-bob', amount: 100 + i };
      const res = await f.transfer(f.dcA, 'alice', body, key, { 'x-failover-epoch': '1' });
      expect(res.statusCode).toBe(201);
      acknowledged.push({ key, body, response: res.body });
    }
  });

  it('dc-b refuses writes while it is a standby', async () => {
    const res = await f.transfer(
      f.dcB!,
      'alice',
      { from: 'fo-alice', to: 'fo-bob', amount: 1 },
      uniqueKey(),
      {
        'x-failover-epoch': '1',
      },
    );
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('PAY_ERR_FENCED');
  });

  it('with dc-a frozen, promote dc-b to epoch 2; every acknowledged transfer is there exactly once', async () => {
    f.tier.primary.kill('SIGSTOP');
    frozen = true;
    const res = await promote(f.dcB!, 2);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ role: 'primary', epoch: 2, wasStandby: true });
    for (const t of acknowledged) {
      const replay = await f.transfer(f.dcB!, 'alice', t.body, t.key, { 'x-failover-epoch': '2' });
      expect(replay.statusCode).toBe(201);
      expect(replay.headers['idempotent-replay']).toBe('true');
      expect(replay.body).toBe(t.response);
    }
    const audit = await f.audit(f.dcB!);
    expect(audit).toMatchObject({
      transfers: 20,
      ledgerImbalance: 0,
      negativeBalances: 0,
      accountsOutOfBalance: 0,
    });
    expect(audit.totalBalance).toBe(audit.openingBalance);
  });

  it('dc-b (epoch 2) accepts new transfers', async () => {
    const res = await f.transfer(f.dcB!, 'bob', { from: 'fo-bob', to: 'fo-alice', amount: 5 }, uniqueKey(), {
      'x-failover-epoch': '2',
    });
    expect(res.statusCode).toBe(201);
    expect(res.headers['x-cell-role']).toBe('primary');
  });

  it('dc-a, frozen, refuses a write with the new epoch at once', async () => {
    const res = await f.transfer(f.dcA, 'alice', { from: 'fo-alice', to: 'fo-bob', amount: 1 }, uniqueKey(), {
      'x-failover-epoch': '2',
    });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('PAY_ERR_FENCED');
  });

  it('dc-a, thawed, still refuses writes with the new epoch, and refuses all writes once fenced', async () => {
    f.tier.primary.kill('SIGCONT');
    frozen = false;
    const res = await f.transfer(f.dcA, 'alice', { from: 'fo-alice', to: 'fo-bob', amount: 1 }, uniqueKey(), {
      'x-failover-epoch': '2',
    });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('PAY_ERR_FENCED');
    // the stale promote a confused controller might send is refused too
    expect((await promote(f.dcB!, 1)).statusCode).toBe(409);
    const fence = await f.dcA.inject({
      method: 'POST',
      url: '/admin/fence',
      headers: f.adminHeaders,
      payload: { epoch: 2 },
    });
    expect(fence.statusCode).toBe(200);
    const noHeader = await f.transfer(
      f.dcA,
      'alice',
      { from: 'fo-alice', to: 'fo-bob', amount: 1 },
      uniqueKey(),
    );
    expect(noHeader.statusCode).toBe(503);
    const ready = (await f.dcA.inject('/health/ready')).json();
    expect(ready.role).toBe('fenced');
    // nothing dc-a refused reached dc-b's books
    expect((await f.audit(f.dcB!)).transfers).toBe(21);
  });
});
