// A primary the router cannot reach cannot be told it was replaced. The router's probes grant it a
// lease (docs/fencing.md, "The lease"); once the lease runs out without a renewal the cell fences
// itself the way the router's fence does: writes refused at once, and in its Postgres (grants revoked,
// marker in postgresql.auto.conf). A promotion at its epoch (the router's claim) lifts it.

import { DEADLINE_HEADER, EPOCH_HEADER, LEASE_DEADLINE_HEADER, LEASE_HEADER } from '@failover-lab/contracts';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { CellState, leaseGrantOf } from '../src/cell-state';
import { defineErrors } from '../src/errors';
import { fenceRig } from './fixtures/fence-rig';

const rig = fenceRig('lease-test');
const write = () => rig.write();
const { directWrite } = rig;

/** A probe as the router sends it: its epoch, the lease, and its own deadline. */
const probe = async (epoch: number, leaseMs: number, deadline: number) =>
  (
    await rig.cell.inject({
      url: '/health/ready',
      headers: {
        [EPOCH_HEADER]: String(epoch),
        [LEASE_HEADER]: String(leaseMs),
        [DEADLINE_HEADER]: String(deadline),
      },
    })
  ).json();

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the lease', () => {
  let epoch: number;

  it('is granted by a probe at the cell’s epoch, to its deadline + the lease, however late it is read', async () => {
    epoch = (await rig.cell.inject('/health/ready')).json().epoch;
    expect((await probe(epoch + 1, 60_000, Date.now() + 500)).leaseUntil).toBeUndefined(); // a newer epoch: replaced
    // read 300 ms past its deadline (a starved cell): the router counts deadline + lease all the same
    const deadline = Date.now() - 300;
    const granted = await probe(epoch, 1_000, deadline);
    expect(granted).toMatchObject({ fenced: false, leaseUntil: new Date(deadline + 1_000).toISOString() });
    // an older probe read later never shortens it
    expect((await probe(epoch, 1_000, deadline - 200)).leaseUntil).toBe(granted.leaseUntil);
    expect((await write()).statusCode).toBe(201);
  });

  it('is renewed by any request the router sent with a grant, to the grant’s deadline, not the request’s', async () => {
    const before = Date.parse((await rig.cell.inject('/health/ready')).json().leaseUntil);
    const grantDeadline = Date.now();
    // a proxied write: its own deadline 5 s away, its grant's now; renewed by the request itself
    const res = await rig.cell.inject({
      method: 'POST',
      url: '/probe/items',
      headers: {
        authorization: `Bearer ${await rig.signer.sign('user-1')}`,
        [EPOCH_HEADER]: String(epoch),
        [DEADLINE_HEADER]: String(grantDeadline + 5_000),
        [LEASE_HEADER]: '1000',
        [LEASE_DEADLINE_HEADER]: String(grantDeadline),
      },
      payload: { value: 'renewed-by-a-request' },
    });
    expect(res.statusCode, res.body).toBe(201);
    const after = Date.parse((await rig.cell.inject('/health/ready')).json().leaseUntil);
    expect(after).toBeGreaterThan(before);
    expect(after).toBe(grantDeadline + 1_000);
  });

  it('runs out without a renewal: the cell fences itself, in the app and in its Postgres', async () => {
    const fenced = await until('the cell fenced itself', async () => {
      const ready = (await rig.cell.inject('/health/ready')).json();
      return ready.fenced ? ready : undefined;
    });
    expect(fenced).toMatchObject({ role: 'fenced', fenced: true, epoch });
    expect(fenced.selfFencedAt).toBeDefined();
    const res = await write();
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('PROBE_ERR_FENCED');
    // the data tier follows a moment later: no direct caller or background job can commit either
    expect(
      await until('writes revoked', async () => ((await directWrite()) === '42501' ? true : undefined)),
    ).toBe(true);
    expect(rig.autoConf()).toMatch(new RegExp(`^failover_lab\\.fenced_epoch = '${epoch}'$`, 'm'));
    // a late probe does not unfence it: only a promotion does
    expect((await probe(epoch, 60_000, Date.now() + 500)).fenced).toBe(true);
  });

  it('a promotion at its epoch (the router claiming it back) lifts the self-fence', async () => {
    const res = await rig.cell.inject({
      method: 'POST',
      url: '/admin/promote',
      headers: { authorization: `Bearer ${rig.tier.secrets.adminToken}` },
      payload: { epoch },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect((await write()).statusCode).toBe(201);
    expect(await directWrite()).toBe('committed');
  });
});

describe('a promotion carries the lease', () => {
  const promote = async (body: Record<string, unknown>) => {
    const res = await rig.cell.inject({
      method: 'POST',
      url: '/admin/promote',
      headers: { authorization: `Bearer ${rig.tier.secrets.adminToken}` },
      payload: body,
    });
    expect(res.statusCode, res.body).toBe(200);
  };
  const ready = async () => (await rig.cell.inject('/health/ready')).json();

  it('leased from the moment it is primary: no probe ever arrives, and it fences itself when the lease runs out', async () => {
    const epoch = (await ready()).epoch;
    const before = Date.now();
    await promote({ epoch, lease: { ms: 1_500, deadline: Date.now() + 15_000 } });
    const after = Date.now();
    // min(the moment it became primary, the deadline) + the lease: within what the router counts
    const leaseUntil = Date.parse((await ready()).leaseUntil);
    expect(leaseUntil).toBeGreaterThanOrEqual(before + 1_500);
    expect(leaseUntil).toBeLessThanOrEqual(after + 1_500);
    expect((await write()).statusCode).toBe(201);
    const fenced = await until('the promoted cell fenced itself', async () => {
      const r = await ready();
      return r.fenced ? r : undefined;
    });
    expect(Date.parse(fenced.selfFencedAt)).toBeGreaterThan(leaseUntil);
    expect((await write()).statusCode).toBe(503);
    expect(
      await until('writes revoked', async () => ((await directWrite()) === '42501' ? true : undefined)),
    ).toBe(true);
  });

  it('a promotion finished after its deadline takes a lease already over: fenced at once', async () => {
    const epoch = (await ready()).epoch;
    await promote({ epoch, lease: { ms: 1_000, deadline: Date.now() - 2_000 } });
    const res = await write();
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('PROBE_ERR_FENCED');
  });

  it('without a lease (leases off) the new primary holds none and does not fence itself', async () => {
    const epoch = (await ready()).epoch;
    await promote({ epoch });
    expect((await ready()).leaseUntil).toBeUndefined();
    expect((await write()).statusCode).toBe(201);
    expect(await directWrite()).toBe('committed');
  });
});

describe('the renew rule (CellState.renewLease): never past what the router waits out', () => {
  // The router's bound for a probe is its deadline + the lease, whether or when the probe arrives.
  const now = 1_000_000;
  const errors = defineErrors('PROBE', {});
  const state = (overrides: Partial<CellState>) => {
    // renewLease reads only the cell's epoch and role, never its Postgres
    const s = new CellState('messaging', 'dc-a', null as unknown as pg.Pool, errors);
    Object.assign(s, { epoch: 4, inRecovery: false, ...overrides });
    return s;
  };
  it.each([
    ['read before its deadline', {}, [4, 3_000, now + 400], now + 3_400],
    [
      'read 2 s past its deadline (a starved cell): still its deadline + the lease',
      {},
      [4, 3_000, now - 2_000],
      now + 1_000,
    ],
    [
      'an older probe read after a newer one: no shorter',
      { leaseUntil: now + 3_400 },
      [4, 3_000, now - 100],
      now + 3_400,
    ],
    ['a probe at a newer epoch (the cell was replaced): none', {}, [5, 3_000, now + 400], null],
    ['a probe at an older epoch: none', {}, [3, 3_000, now + 400], null],
    ['a standby: none', { inRecovery: true }, [4, 3_000, now + 400], null],
    [
      'fenced: none, and the old lease is left to run out',
      { fenced: true, leaseUntil: now + 10 },
      [4, 3_000, now + 400],
      now + 10,
    ],
    ['leases off (0): none held any more', { leaseUntil: now + 10 }, [4, 0, now + 400], null],
    [
      'read after deadline + lease by a primary holding none: taken, already over, so it fences',
      {},
      [4, 3_000, now - 4_000],
      now - 1_000,
    ],
  ] as const)('%s', (_name, overrides, [epoch, leaseMs, deadline], leaseUntil) => {
    const s = state(overrides);
    s.renewLease(epoch, leaseMs, deadline);
    expect(s.leaseUntil).toBe(leaseUntil);
  });

  it.each([
    [
      'a probe: its own deadline is its grant’s',
      { [EPOCH_HEADER]: '4', [LEASE_HEADER]: '3000', [DEADLINE_HEADER]: '1000400' },
      { epoch: 4, leaseMs: 3_000, deadlineMs: 1_000_400 },
    ],
    [
      'a proxied request: the grant’s deadline, never the request’s',
      {
        [EPOCH_HEADER]: '4',
        [LEASE_HEADER]: '800',
        [DEADLINE_HEADER]: '1005000',
        [LEASE_DEADLINE_HEADER]: '1000200',
      },
      { epoch: 4, leaseMs: 800, deadlineMs: 1_000_200 },
    ],
    [
      'a proxied request without a grant (the router suspects the cell): nothing',
      { [EPOCH_HEADER]: '4', [DEADLINE_HEADER]: '1005000' },
      null,
    ],
    [
      'a malformed grant deadline: nothing (not the request deadline instead)',
      {
        [EPOCH_HEADER]: '4',
        [LEASE_HEADER]: '800',
        [DEADLINE_HEADER]: '1005000',
        [LEASE_DEADLINE_HEADER]: 'soon',
      },
      null,
    ],
    ['no epoch: nothing', { [LEASE_HEADER]: '800', [LEASE_DEADLINE_HEADER]: '1000200' }, null],
  ] as const)('the grant a request carries (leaseGrantOf): %s', (_name, headers, grant) => {
    expect(leaseGrantOf(headers)).toEqual(grant);
  });

  it('the timer looks again once the waiting I/O is read: a grant read meanwhile keeps it unfenced', async () => {
    const s = state({});
    s.renewLease(4, 3_000, Date.now() - 3_100);
    const check = s.checkLeaseAfterPendingIo();
    // a request read before the check runs, carrying a grant the router sent in time
    s.renewLease(4, 3_000, Date.now());
    expect(await check).toBe(false);
    expect(s.fenced).toBe(false);
    const unrenewed = state({});
    unrenewed.renewLease(4, 3_000, Date.now() - 3_100);
    expect(await unrenewed.checkLeaseAfterPendingIo()).toBe(true);
    expect(unrenewed.role()).toBe('fenced');
  });

  it('a started cell fences itself at its lease’s end, not at its next role refresh; a renewal moves that end', async () => {
    const s = state({});
    const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    s.start(600_000); // no role refresh (and no lease check by it) for ten minutes
    try {
      s.renewLease(4, 100, Date.now());
      await settle(50);
      // renewed before the end: the timer armed for the first end must not fence it
      s.renewLease(4, 250, Date.now());
      const until = s.leaseUntil!;
      await settle(120);
      expect(s.fenced).toBe(false);
      for (let i = 0; i < 100 && !s.fenced; i++) await settle(20);
      expect(s.fenced).toBe(true);
      expect(s.selfFencedAt).toBeGreaterThan(until);
    } finally {
      s.stop();
    }
  });

  it('a lease already over fences the cell at its next check', () => {
    const s = state({});
    s.renewLease(4, 3_000, now - 4_000);
    expect(s.checkLease(now)).toBe(true);
    expect([s.fenced, s.selfFencedAt, s.role()]).toEqual([true, now, 'fenced']);
  });
});
