// The controller loop with injected fakes (no network): act() order, persistence, one-line outcomes.
import type { PromoteRequest, RegionName, ServiceName } from '@failover-lab/contracts';
import { describe, expect, it, vi } from 'vitest';
import { type CellAdmin, CellAdminError } from '../src/cell-admin';
import { parseRouterConfig } from '../src/config';
import { Controller } from '../src/controller/controller';
import type { CellHealth } from '../src/health/cell-health';
import { RouterMetrics } from '../src/metrics';
import { RouteTable } from '../src/route-table';
import { EventLog } from '../src/state/events';
import { MemoryStateStore, type RouterState } from '../src/state/state-store';
import { cell, ready } from './fixtures/snapshots';
import { waitFor } from './helpers/wait';

class SlowStore extends MemoryStateStore {
  override async save(state: RouterState): Promise<void> {
    await new Promise((r) => setTimeout(r, 20));
    await super.save(state);
  }
}

function rig(services: ServiceName[], mode: 'sync' | 'async' = 'async', policy: Record<string, number> = {}) {
  const config = parseRouterConfig(
    {
      policy,
      listen: { host: '127.0.0.1', port: 0 },
      stateFile: '/nonexistent/state.json',
      services: Object.fromEntries(
        services.map((s, i) => [
          s,
          {
            mode,
            cells: { 'dc-a': `http://127.0.1.${i + 1}:3000`, 'dc-b': `http://127.0.2.${i + 1}:3000` },
          },
        ]),
      ),
    },
    { ADMIN_TOKEN: 'x'.repeat(20) },
  );
  const health = new Map<string, CellHealth>();
  const set = (service: ServiceName, region: RegionName, h: CellHealth) =>
    health.set(`${service}/${region}`, h);
  const calls: string[] = [];
  const store = new SlowStore();
  /** what each promotion carried and what the router counted for it (countPromotionLease) */
  const leases: Array<{ url: string; sent: PromoteRequest['lease']; counted: number[] }> = [];
  const admin: CellAdmin = {
    promote: async (url, epoch, lease) => {
      const grant = leases.at(-1);
      if (lease && grant?.url === '') Object.assign(grant, { url, sent: lease });
      calls.push(
        `promote ${url} ${epoch} (persisted epochs: ${JSON.stringify(Object.values(store.state?.services ?? {}).map((s) => s.epoch))})`,
      );
      return { role: 'primary', epoch, promoteMs: 7, steps: { pgPromoteMs: 4, redisMs: 1, writableMs: 2 } };
    },
    fence: async (url, epoch) => {
      calls.push(`fence ${url} ${epoch}`);
    },
    sync: async (url, standbys) => {
      calls.push(`sync ${url} ${standbys.join(',')}`);
    },
    state: async () => ready(),
  };
  const lines: string[] = [];
  const routes = new RouteTable();
  const events = new EventLog(100, null);
  const controller = new Controller({
    services: config.services,
    health: {
      health: (service, region) => health.get(`${service}/${region}`)!,
      probeNow: async (service, region) => health.get(`${service}/${region}`)!,
      countPromotionLease: (service, region, until) => {
        const grant = { url: '', sent: undefined, counted: [until] };
        leases.push(grant);
        const apply = (bound: number) => {
          const h = health.get(`${service}/${region}`);
          if (h) set(service, region, { ...h, promotionLeaseUntil: bound });
        };
        apply(until);
        return (answered) => {
          grant.counted.push(answered);
          apply(answered);
        };
      },
    },
    admin,
    routes,
    store,
    events,
    metrics: new RouterMetrics(),
    clock: { now: () => Date.now() },
    log: (line) => lines.push(line),
  });
  return { controller, set, calls, store, lines, routes, events, leases, admin };
}

const primaryListing = (epoch: number) =>
  ready({
    role: 'primary',
    epoch,
    standbys: [{ name: 'dc-b', state: 'streaming', syncState: 'async', lagBytes: 0 }],
  });
const standby = (epoch: number) =>
  ready({ role: 'standby', epoch, inRecovery: true, replicationLagBytes: 0 });

describe('controller', () => {
  it('knows which services have state from an earlier run (a promotion of theirs may still be in flight)', async () => {
    const r = rig(['login', 'payments']);
    r.store.state = {
      version: 1,
      services: { login: { primary: 'dc-b', epoch: 3, updatedAt: new Date(0).toISOString() } },
    };
    await r.controller.init();
    expect([r.controller.stateBornThisRun('login'), r.controller.stateBornThisRun('payments')]).toEqual([
      false,
      true,
    ]);
  });

  it('first start persists dc-a at epoch 1 and claims it; outcome lines only when they change', async () => {
    const { controller, set, calls, store, lines } = rig(['payments']);
    await controller.init();
    expect(store.state?.services.payments).toMatchObject({ primary: 'dc-a', epoch: 1 });
    set('payments', 'dc-a', cell('up', ready({ epoch: 0 })));
    set('payments', 'dc-b', cell('up', standby(0)));
    expect(await controller.tick('payments')).toBe('claimed dc-a for payments, epoch 1');
    expect(calls).toEqual(['promote http://127.0.1.1:3000 1 (persisted epochs: [1])']);
    set('payments', 'dc-a', cell('up', primaryListing(1)));
    await controller.tick('payments');
    await controller.tick('payments');
    expect(lines).toEqual([
      'payments: claimed dc-a for payments, epoch 1',
      'payments: no action: dc-a primary, healthy',
    ]);
  });

  it('a failover persists the new epoch before the promote call', async () => {
    const { controller, set, calls, store } = rig(['login']);
    await controller.init();
    set('login', 'dc-a', cell('down', primaryListing(1)));
    set('login', 'dc-b', cell('up', standby(1)));
    expect(await controller.tick('login')).toBe('promoted dc-b for login, epoch 2');
    expect(calls).toEqual(['promote http://127.0.2.1:3000 2 (persisted epochs: [2])']);
    expect(store.state?.services.login).toMatchObject({ primary: 'dc-b', epoch: 2 });
  });

  it('every promotion carries the lease: counted as deadline + lease before the call, answer + lease after', async () => {
    const { controller, set, leases } = rig(['login']);
    await controller.init();
    set('login', 'dc-a', cell('up', ready({ epoch: 0 })));
    set('login', 'dc-b', cell('up', standby(0)));
    const t0 = Date.now();
    await controller.tick('login'); // claim dc-a at epoch 1
    set('login', 'dc-a', cell('down', primaryListing(1)));
    set('login', 'dc-b', cell('up', standby(1)));
    await controller.tick('login'); // fail over to dc-b at epoch 2
    const t1 = Date.now();
    expect(leases.map((l) => l.url)).toEqual(['http://127.0.1.1:3000', 'http://127.0.2.1:3000']);
    for (const { sent, counted } of leases) {
      // policy defaults: leaseMs 3 000, adminTimeoutMs 15 000 (the promotion's deadline)
      expect(sent?.ms).toBe(3_000);
      expect(sent!.deadline).toBeGreaterThanOrEqual(t0 + 15_000);
      expect(sent!.deadline).toBeLessThanOrEqual(t1 + 15_000);
      expect(counted[0]).toBe(sent!.deadline + 3_000);
      // answered: lowered to the answer's moment + the lease (the cell took its lease before answering)
      expect(counted[1]).toBeGreaterThanOrEqual(t0 + 3_000);
      expect(counted[1]).toBeLessThanOrEqual(t1 + 3_000);
    }
  });

  it('for settleMs after a promotion, its grants and the promotion itself carry settleLeaseMs', async () => {
    const { controller, set, leases } = rig(['login'], 'async', {
      leaseMs: 800,
      settleLeaseMs: 2_500,
      settleMs: 150,
    });
    await controller.init();
    expect(controller.leaseMsOf('login')).toBe(800);
    set('login', 'dc-a', cell('down', primaryListing(1)));
    set('login', 'dc-b', cell('up', standby(1)));
    const t0 = Date.now();
    expect(await controller.tick('login')).toBe('promoted dc-b for login, epoch 2');
    expect(leases[0]!.sent?.ms).toBe(2_500);
    expect(leases[0]!.counted[0]).toBe(leases[0]!.sent!.deadline + 2_500);
    expect(leases[0]!.counted[1]).toBeGreaterThanOrEqual(t0 + 2_500);
    // every probe and request grant of the service carries it meanwhile
    expect(controller.leaseMsOf('login', t0 + 100)).toBe(2_500);
    // and the plain lease once the window is over
    expect(controller.leaseMsOf('login', Date.now() + 150)).toBe(800);
    // off by default: the lease alone
    const plain = rig(['login']);
    await plain.controller.init();
    plain.set('login', 'dc-a', cell('down', primaryListing(1)));
    plain.set('login', 'dc-b', cell('up', standby(1)));
    await plain.controller.tick('login');
    expect([plain.leases[0]!.sent?.ms, plain.controller.leaseMsOf('login')]).toEqual([3_000, 3_000]);
  });

  it('a promotion that fails keeps its grant counted at deadline + lease', async () => {
    const { controller, set, leases, admin } = rig(['login']);
    await controller.init();
    set('login', 'dc-a', cell('up', ready({ epoch: 0 })));
    set('login', 'dc-b', cell('up', standby(0)));
    admin.promote = async () => {
      throw new Error('ETIMEDOUT');
    };
    expect(await controller.tick('login')).toBe('claim failed: ETIMEDOUT');
    expect(leases).toHaveLength(1);
    expect(leases[0]!.counted).toHaveLength(1);
  });

  it('a promotion the cell refuses (4xx) took no lease: its grant is dropped', async () => {
    const { controller, set, leases, admin } = rig(['login']);
    await controller.init();
    set('login', 'dc-a', cell('up', ready({ epoch: 0 })));
    set('login', 'dc-b', cell('up', standby(0)));
    admin.promote = async () => {
      throw new CellAdminError(
        'POST /admin/promote: HTTP 409 ADMIN_ERR_STALE_EPOCH',
        409,
        'ADMIN_ERR_STALE_EPOCH',
      );
    };
    const before = Date.now();
    expect(await controller.tick('login')).toMatch(/^claim failed: .*409/);
    expect(leases[0]!.counted).toHaveLength(2);
    expect(leases[0]!.counted[1]).toBeGreaterThanOrEqual(before);
    expect(leases[0]!.counted[1]).toBeLessThanOrEqual(Date.now());
  });

  it("a failover's promoted and routed events carry its steps, the cell's own among them", async () => {
    const { controller, set, events } = rig(['login']);
    await controller.init();
    set('login', 'dc-a', cell('down', primaryListing(1)));
    set('login', 'dc-b', cell('up', standby(1)));
    await controller.tick('login');
    const promoted = events.since().find((e) => e.type === 'promoted');
    // the fixture's primary failed its first probe 1200 ms before it was confirmed down (since)
    expect(promoted?.steps).toMatchObject({
      probeMs: 200,
      writesMs: 0,
      pgPromoteMs: 4,
      redisMs: 1,
      writableMs: 2,
    });
    expect(promoted?.steps?.epochMs).toBeGreaterThanOrEqual(0);
    expect(promoted?.steps?.adminMs).toBeGreaterThanOrEqual(0);
    expect(promoted?.steps?.routeMs).toBeUndefined();
    // the new primary answers: the route follows, and its event closes the breakdown with routeMs
    set('login', 'dc-b', cell('up', primaryListing(2)));
    await controller.tick('login');
    const routed = events.since().filter((e) => e.type === 'routed' && e.region === 'dc-b');
    expect(routed).toHaveLength(1);
    expect(routed[0]!.steps).toMatchObject({ ...promoted!.steps, routeMs: expect.any(Number) });
  });

  it('two services failing over at once both keep their new epoch (saves do not overwrite each other)', async () => {
    const { controller, set, store } = rig(['login', 'messaging']);
    await controller.init();
    for (const s of ['login', 'messaging'] as const) {
      set(s, 'dc-a', cell('down', primaryListing(1)));
      set(s, 'dc-b', cell('up', standby(1)));
    }
    await Promise.all([controller.tick('login'), controller.tick('messaging')]);
    expect(store.state?.services.login).toMatchObject({ primary: 'dc-b', epoch: 2 });
    expect(store.state?.services.messaging).toMatchObject({ primary: 'dc-b', epoch: 2 });
    expect(controller.primaryOf('login')).toEqual({ region: 'dc-b', epoch: 2 });
    expect(controller.primaryOf('messaging')).toEqual({ region: 'dc-b', epoch: 2 });
  });

  it('a region loss: epochs that arrive while a save runs share the next save', async () => {
    const services = ['login', 'payments', 'messaging'] as const;
    const { controller, set, store } = rig([...services]);
    await controller.init();
    const before = store.saves;
    for (const s of services) {
      set(s, 'dc-a', cell('down', primaryListing(1)));
      set(s, 'dc-b', cell('up', standby(1)));
    }
    await Promise.all(services.map((s) => controller.tick(s)));
    for (const s of services) expect(store.state?.services[s]).toMatchObject({ primary: 'dc-b', epoch: 2 });
    // one save per service would be 3; whichever arrive during the first one ride on the second
    expect(store.saves - before).toBeLessThanOrEqual(2);
  });

  it('sync returns once the standby flushed past where the primary was when first seen async', async () => {
    const { controller, set, calls } = rig(['payments'], 'sync');
    await controller.init();
    const degraded = (walLsn: string, flushLsn: string) =>
      cell(
        'up',
        ready({
          role: 'primary',
          epoch: 1,
          walLsn,
          synchronousStandbyNames: '',
          standbys: [
            { name: 'dc-b', state: 'streaming', syncState: 'async', lagBytes: 0, replyAgeMs: 200, flushLsn },
          ],
        }),
      );
    set('payments', 'dc-b', cell('up', standby(1)));
    // just degraded (the primary at 0/3000000), the link still cut: its row looks fine but flush lags
    set('payments', 'dc-a', degraded('0/3000000', '0/2FFFF80'));
    expect(await controller.tick('payments')).toBe(
      'no action: dc-a primary, healthy, async (RPO guarantee suspended; standby dc-b up)',
    );
    // async writes moved the primary on; the mark stays where it was first seen async
    set('payments', 'dc-a', degraded('0/3000800', '0/2FFFF80'));
    await controller.tick('payments');
    expect(calls).toEqual([]);
    set('payments', 'dc-a', degraded('0/3000800', '0/3000100'));
    expect(await controller.tick('payments')).toBe('restored sync for payments: dc-b follows dc-a');
    expect(calls).toEqual(['sync http://127.0.1.1:3000 dc-b']);
  });

  it('a restart with a state file neither promotes nor flips', async () => {
    const { controller, set, calls, store } = rig(['login']);
    store.state = {
      version: 1,
      services: { login: { primary: 'dc-b', epoch: 4, updatedAt: new Date().toISOString() } },
    };
    await controller.init();
    set('login', 'dc-a', cell('up', ready({ role: 'primary', epoch: 3 })));
    set('login', 'dc-b', cell('up', ready({ role: 'primary', epoch: 4 })));
    expect(await controller.tick('login')).toBe(
      'fenced dc-a for login (claims primary at epoch 3, current 4)',
    );
    expect(calls).toEqual(['fence http://127.0.1.1:3000 4']);
    expect(controller.primaryOf('login')).toEqual({ region: 'dc-b', epoch: 4 });
  });

  describe('writes sent to the old primary (promotion waits for those that may still land)', () => {
    const url = 'http://127.0.1.1:3000';
    async function servingLogin() {
      const r = rig(['login']);
      await r.controller.init();
      r.set('login', 'dc-a', cell('up', primaryListing(1)));
      r.set('login', 'dc-b', cell('up', standby(1)));
      await r.controller.tick('login');
      expect(r.routes.get('login')?.serving).toBe(true);
      return r;
    }
    /** dc-a confirmed down, the way the prober reports it: transition first, the controller ticks on it */
    function confirmDown(r: Awaited<ReturnType<typeof servingLogin>>) {
      const down = cell('down', primaryListing(1));
      r.set('login', 'dc-a', down);
      r.controller.onHealthTransition(
        { service: 'login', region: 'dc-a', url },
        cell('suspect', primaryListing(1), 2),
        down,
      );
    }
    const promoteStarted = (r: Awaited<ReturnType<typeof servingLogin>>) =>
      r.events.since().find((e) => e.type === 'promote_started' && e.region === 'dc-b');

    it('a write the dead primary answered just after it was confirmed down does not hold up the promotion', async () => {
      // db-kill / region kill: the app answers 503 at once, but the router reads that answer only after
      // the probe that confirmed the cell down (a busy event loop). The write finished: nothing can land.
      const r = await servingLogin();
      const untrack = r.routes.track('login', 'dc-a', new AbortController(), Date.now() + 60_000);
      confirmDown(r);
      untrack(false); // the cell's answer, processed right after the verdict
      await waitFor('dc-b promoted', () => r.calls.length > 0, 10_000, 5);
      expect(r.calls).toEqual(['promote http://127.0.2.1:3000 2 (persisted epochs: [2])']);
      expect(promoteStarted(r)?.detail ?? '').not.toMatch(/waited/);
      await r.controller.stop();
    });

    it('a write whose fate is unknown (timed out, no answer) holds the promotion until strictly past its deadline', async () => {
      const r = await servingLogin();
      const deadline = Date.now() + 300;
      const untrack = r.routes.track('login', 'dc-a', new AbortController(), deadline);
      confirmDown(r);
      untrack(true); // timed out: it may still sit in a frozen cell's socket buffers
      await waitFor('dc-b promoted', () => r.calls.length > 0, 10_000, 5);
      expect(Date.parse(promoteStarted(r)!.at)).toBeGreaterThan(deadline);
      expect(promoteStarted(r)!.detail).toMatch(/waited \d+ ms for writes sent to the old primary/);
      await r.controller.stop();
    });

    it('a leased old primary: its writes hold the promotion only until its lease has run out (it refuses every COMMIT past it)', async () => {
      const r = await servingLogin();
      const write = new AbortController();
      r.routes.track('login', 'dc-a', write, Date.now() + 60_000); // never answered
      const leaseUntil = Date.now() + 300;
      confirmDown(r);
      r.set('login', 'dc-a', { ...cell('down', primaryListing(1)), leaseGrantedUntil: leaseUntil });
      await waitFor('dc-b promoted', () => r.calls.length > 0, 10_000, 5);
      const started = Date.parse(promoteStarted(r)!.at);
      expect(started).toBeGreaterThan(leaseUntil);
      expect(started).toBeLessThan(leaseUntil + 2_000);
      // it cannot commit there any more: cut loose, so a retry-safe one is resent to the new primary now
      expect(write.signal.aborted).toBe(true);
      await r.controller.stop();
    });

    it('a lease granted again while it waits (the old primary answered) moves the wait for its writes with it', async () => {
      const r = await servingLogin();
      const deadline = Date.now() + 60_000;
      r.routes.track('login', 'dc-a', new AbortController(), deadline);
      confirmDown(r);
      r.set('login', 'dc-a', { ...cell('down', primaryListing(1)), leaseGrantedUntil: Date.now() + 100 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const regranted = Date.now() + 600;
      r.set('login', 'dc-a', { ...cell('down', primaryListing(1)), leaseGrantedUntil: regranted });
      await waitFor('dc-b promoted', () => r.calls.length > 0, 10_000, 5);
      expect(Date.parse(promoteStarted(r)!.at)).toBeGreaterThan(regranted);
      expect(promoteStarted(r)!.detail).toMatch(/waited \d+ ms for writes sent to the old primary/);
      await r.controller.stop();
    });

    it('the promotion goes on as soon as the last write in flight is answered, not at its next poll', async () => {
      const r = await servingLogin();
      // the poll's timer never fires here: only the write's end can wake the wait
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        const untrack = r.routes.track('login', 'dc-a', new AbortController(), Date.now() + 60_000);
        confirmDown(r);
        const settle = async () => {
          for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
        };
        await settle();
        expect(promoteStarted(r)).toBeUndefined(); // waiting for the write
        untrack(false); // the dead cell's 503
        await settle();
        // (its detail names the wait only when it lasted a millisecond or more: the wake may not)
        expect(promoteStarted(r)).toBeDefined();
        // the state store's own timer
        await vi.advanceTimersByTimeAsync(100);
      } finally {
        vi.useRealTimers();
      }
      await waitFor('dc-b promoted', () => r.calls.length > 0, 10_000, 5);
      await r.controller.stop();
    });

    it('a write still in flight holds the promotion until it is answered', async () => {
      const r = await servingLogin();
      const untrack = r.routes.track('login', 'dc-a', new AbortController(), Date.now() + 60_000);
      confirmDown(r);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(r.calls).toEqual([]); // still waiting: a frozen cell could run it on thaw
      untrack(false);
      await waitFor('dc-b promoted', () => r.calls.length > 0, 10_000, 5);
      await r.controller.stop();
    });
  });

  describe('a planned switchover drains the old primary’s writes, not its reads', () => {
    async function servingLogin() {
      const r = rig(['login']);
      await r.controller.init();
      r.set('login', 'dc-a', cell('up', primaryListing(1)));
      r.set('login', 'dc-b', cell('up', standby(1)));
      await r.controller.tick('login');
      r.calls.length = 0;
      return r;
    }
    const fenceCall = 'fence http://127.0.1.1:3000 1';

    it('fences only once a slow write is answered, even when that takes longer than 2 s', async () => {
      const r = await servingLogin();
      const untrack = r.routes.track('login', 'dc-a', new AbortController(), Date.now() + 30_000);
      const done = r.controller.switchover('login');
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(r.calls).toEqual([]); // a slow sign-in still running: fencing now would fail it
      untrack(false);
      const result = await done;
      expect(result).toMatchObject({ from: 'dc-a', to: 'dc-b', epoch: 2 });
      expect(r.calls[0]).toBe(fenceCall);
      await r.controller.stop();
    });

    it('a write that never answers holds it only until its deadline (the commit guard refuses it after)', async () => {
      const r = await servingLogin();
      const deadline = Date.now() + 400;
      r.routes.track('login', 'dc-a', new AbortController(), deadline);
      await r.controller.switchover('login');
      expect(r.calls[0]).toBe(fenceCall);
      const fenced = r.events.since().find((e) => e.type === 'fenced');
      expect(Date.parse(fenced!.at)).toBeGreaterThan(deadline);
      await r.controller.stop();
    });

    it('reads in flight (an open SSE stream) do not hold it', async () => {
      const r = await servingLogin();
      r.routes.track('login', 'dc-a', new AbortController()); // a read: no write deadline
      const started = Date.now();
      await r.controller.switchover('login');
      expect(r.calls[0]).toBe(fenceCall);
      expect(Date.now() - started).toBeLessThan(1_500);
      await r.controller.stop();
    });
  });
});
