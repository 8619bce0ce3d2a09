// Losing the synchronous standby: commits wait (an unacknowledged transfer is never reported done),
// and the controller's way out — POST /admin/sync {standbys: []} — must work even while every app
// connection is stuck in such a commit; then the waiting transfers complete, each exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PaymentsFixture, startPayments, uniqueKey } from './helpers';

let f: PaymentsFixture;

beforeAll(async () => {
  f = await startPayments();
  await f.seed(f.dcA, [
    { id: 'sl-alice', owner: 'alice', balance: 100_000 },
    { id: 'sl-bob', owner: 'bob', balance: 0 },
  ]);
});
afterAll(async () => f?.stop());

describe('standby loss', () => {
  it('transfers wait for the lost standby; degrading to async releases them, applied once', async () => {
    f.tier.standby!.kill('SIGKILL');
    const before = await f.audit();
    const settledBeforeSync: number[] = [];
    let synced = false;
    // more than the app pool (10): the admin call below must not queue behind them
    const pending = Array.from({ length: 12 }, (_, i) => {
      const key = uniqueKey(`sl${i}`);
      return f.transfer(f.dcA, 'alice', { from: 'sl-alice', to: 'sl-bob', amount: 10 }, key).then((res) => {
        if (!synced) settledBeforeSync.push(res.statusCode);
        return { key, res };
      });
    });
    await new Promise((r) => setTimeout(r, 1_500));
    // nothing may be acknowledged while the standby cannot have it
    expect(settledBeforeSync.filter((status) => status === 201)).toEqual([]);

    synced = true;
    const sync = await f.dcA.inject({
      method: 'POST',
      url: '/admin/sync',
      headers: f.adminHeaders,
      payload: { standbys: [] },
    });
    expect(sync.statusCode).toBe(200);
    expect(sync.json()).toEqual({ synchronousStandbyNames: '' });

    const results = await Promise.all(pending);
    // Those that waited for a pool connection longer than 2 s answer 503 and are retried by clients.
    for (const { res } of results) expect([201, 503]).toContain(res.statusCode);
    const completed = results.filter(({ res }) => res.statusCode === 201).length;
    expect(completed).toBeGreaterThan(0);
    const after = await f.audit();
    expect(after.transfers).toBe(before.transfers + completed);
    expect(after.totalBalance).toBe(before.totalBalance);
    expect(after.ledgerImbalance).toBe(0);

    // a retry of every key now settles each exactly once (replay for the completed ones)
    for (const { key, res } of results) {
      const again = await f.transfer(f.dcA, 'alice', { from: 'sl-alice', to: 'sl-bob', amount: 10 }, key);
      expect(again.statusCode).toBe(201);
      if (res.statusCode === 201) expect(again.headers['idempotent-replay']).toBe('true');
    }
    expect((await f.audit()).transfers).toBe(before.transfers + 12);
  });
});
