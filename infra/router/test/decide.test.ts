import { describe, expect, it } from 'vitest';
import { decide, routeVerdict, type ServiceSnapshot } from '../src/controller/decide';
import {
  applyProbe,
  type CellHealth,
  grantsLease,
  initialHealth,
  isSilent,
  type ProbeResult,
} from '../src/health/cell-health';
import { fixtures, ready } from './fixtures/snapshots';

describe('decide(): failover policy over named snapshots', () => {
  it('healthy: no action, one-line outcome', () => {
    expect(decide(fixtures.healthyPayments())).toEqual({
      kind: 'none',
      outcome: 'no action: dc-a primary, healthy',
    });
    expect(decide(fixtures.healthyMessaging()).outcome).toBe('no action: dc-a primary, healthy');
  });

  it('primary down, sync standby in sync: promote dc-b at epoch+1 with RPO 0', () => {
    const d = decide(fixtures.paymentsPrimaryDown());
    expect(d).toMatchObject({ kind: 'failover', from: 'dc-a', to: 'dc-b', epoch: 4, rpoZero: true });
    expect(d.outcome).toBe('promote dc-b for payments, epoch 4 (RPO 0: was in sync)');
  });

  it("primary's Postgres gone (app answers, checks.postgres.ok=false) counts as down", () => {
    expect(decide(fixtures.paymentsPrimaryPostgresGone())).toMatchObject({
      kind: 'failover',
      to: 'dc-b',
      epoch: 4,
    });
  });

  it('start-up grace: a primary seen down right after the router started is not failed over yet', () => {
    const s = { ...fixtures.paymentsPrimaryDown(), inStartupGrace: true };
    expect(decide(s)).toEqual({ kind: 'none', outcome: 'no action: dc-a down, router start-up grace' });
  });

  it('start-up grace: a primary seen down right after the router started is not failed over yet', () => {
    const s = { ...fixtures.paymentsPrimaryDown(), inStartupGrace: true };
    expect(decide(s)).toEqual({ kind: 'none', outcome: 'no action: dc-a down, router start-up grace' });
  });

  it('an app crash with its Postgres alive is left to the supervisor, within the restart grace', () => {
    expect(decide(fixtures.appCrashedPostgresAlive(2_000))).toEqual({
      kind: 'none',
      outcome: 'no action: dc-a app down but its Postgres answers; waiting for an in-place restart',
    });
    // …and failed over once the app has not come back in time
    expect(decide(fixtures.appCrashedPostgresAlive(10_001))).toMatchObject({ kind: 'failover', to: 'dc-b' });
  });

  it('health: with the app unreachable, the Postgres probe decides whether the data tier is alive', () => {
    const rules = { fall: 3, rise: 2 };
    let h = applyProbe(initialHealth(0), { ok: true, at: 1, ms: 1, ready: ready(), error: null }, rules);
    expect(h.dataTierAlive).toBe(true);
    h = applyProbe(h, { ok: false, at: 2, ms: 1, ready: null, error: 'ECONNREFUSED' }, rules);
    expect(h.dataTierAlive).toBe(null); // first failure: not asked yet
    h = applyProbe(
      h,
      { ok: false, at: 3, ms: 1, ready: null, error: 'ECONNREFUSED', dataTierAlive: false },
      rules,
    );
    expect(h.dataTierAlive).toBe(false);
    const gone = ready({
      status: 'not_ready',
      checks: { postgres: { ok: false, ms: 1 }, redis: { ok: true, ms: 1 } },
    });
    h = applyProbe(initialHealth(0), { ok: false, at: 1, ms: 1, ready: gone, error: 'postgres' }, rules);
    expect(h.dataTierAlive).toBe(false);
  });

  it('health: a just-restarted app whose own Postgres check still fails does not make a live Postgres dead', () => {
    const rules = { fall: 3, rise: 2 };
    const starting = ready({
      status: 'not_ready',
      checks: { postgres: { ok: false, ms: 1 }, redis: { ok: true, ms: 1 } },
    });
    const h = applyProbe(
      initialHealth(0),
      { ok: false, at: 1, ms: 1, ready: starting, error: 'postgres', dataTierAlive: true },
      rules,
    );
    // the router's direct probe answered: an app crash in progress, not a lost data tier
    expect(h.dataTierAlive).toBe(true);
  });

  it('region kill: a Postgres that answered in the instant before it died delays the failover by one probe, not the restart grace', () => {
    const rules = { fall: 3, rise: 2 };
    const failed = (at: number, dataTierAlive?: boolean): ProbeResult => ({
      ok: false,
      at,
      ms: 1,
      ready: null,
      error: 'ECONNREFUSED',
      ...(dataTierAlive === undefined ? {} : { dataTierAlive }),
    });
    const base = fixtures.appCrashedPostgresAlive(0);
    let h = applyProbe(
      initialHealth(0),
      { ok: true, at: 1, ms: 1, ready: base.cells['dc-a'].lastReady, error: null },
      rules,
    );
    h = applyProbe(h, failed(2), rules);
    h = applyProbe(h, failed(3, true), rules); // the app is gone, its Postgres not yet
    h = applyProbe(h, { ...failed(4, false), inconclusive: true }, rules); // a stalled router learns nothing
    h = applyProbe(h, failed(5, true), rules);
    expect(h).toMatchObject({ status: 'down', dataTierAlive: true });
    const at = (health: typeof h) => ({ ...base, at: 6, cells: { ...base.cells, 'dc-a': health } });
    expect(decide(at(h)).kind).toBe('none'); // waiting for an in-place restart…
    h = applyProbe(h, failed(6, false), rules); // …until the next probe finds the Postgres gone too
    expect(h.dataTierAlive).toBe(false);
    expect(decide(at(h))).toMatchObject({ kind: 'failover', to: 'dc-b' });
  });

  it('async primary down with the standby within the lag bound: promote (not RPO 0)', () => {
    expect(decide(fixtures.messagingPrimaryDown())).toMatchObject({
      kind: 'failover',
      to: 'dc-b',
      rpoZero: false,
    });
  });

  it('async primary down with lag over the bound: failover refused, reason names the lag', () => {
    const d = decide(fixtures.messagingLagOverBound());
    expect(d.kind).toBe('refuse_failover');
    if (d.kind !== 'refuse_failover') throw new Error('unreachable');
    expect(d.reason).toBe('standby dc-b lag 5000000 B exceeds bound 1000000 B');
  });

  it('async primary down and standby not streaming at last check: refused (lag unknown)', () => {
    expect(decide(fixtures.messagingStandbyNotStreaming())).toMatchObject({ kind: 'refuse_failover' });
  });

  it('both down: no failover, refused because the standby is not healthy', () => {
    const d = decide(fixtures.bothDown());
    expect(d).toMatchObject({ kind: 'refuse_failover', region: 'dc-b' });
    expect(d.outcome).toBe('no action: dc-a down, failover refused: standby dc-b is not healthy (down)');
  });

  it('standby fenced: not a promotion candidate', () => {
    expect(decide(fixtures.standbyFenced())).toMatchObject({ kind: 'refuse_failover' });
  });

  it('stale primary returns claiming primary: fenced with the current epoch', () => {
    const d = decide(fixtures.stalePrimaryReturns());
    expect(d).toMatchObject({ kind: 'fence', region: 'dc-a', epoch: 3 });
    expect(d.outcome).toBe('fenced dc-a for messaging (claims primary at epoch 2, current 3)');
  });

  it('stale primary already fenced: left alone', () => {
    expect(decide(fixtures.staleFencedReturns()).kind).toBe('none');
  });

  it('a flapping probe (one failure) never fails over', () => {
    expect(decide(fixtures.flappingProbe())).toEqual({
      kind: 'none',
      outcome: 'no action: dc-a suspected (1 failed probe)',
    });
    expect(decide(fixtures.flappingProbeAnswering()).kind).toBe('none');
    // and the route keeps serving while merely suspected
    expect(routeVerdict(fixtures.flappingProbe()).serving).toBe(true);
  });

  it('flapping probe sequence through the health rules never reaches down', () => {
    let h = initialHealth(0);
    const probe = (ok: boolean, at: number): ProbeResult => ({
      ok,
      at,
      ms: 1,
      ready: ok ? ready() : null,
      error: ok ? null : 'timeout',
    });
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      // fail, ok, fail, ok, fail, fail, ok … never three failures in a row
      const ok = i % 3 === 1 || i % 5 === 0;
      h = applyProbe(h, probe(ok, i), { fall: 3, rise: 2 });
      seen.add(h.status);
    }
    expect(seen.has('down')).toBe(false);
    expect(seen.has('suspect')).toBe(true);
  });

  it('rise: a suspected cell needs `rise` good probes before it counts as up again', () => {
    const rules = { fall: 3, rise: 2 };
    const good: ProbeResult = { ok: true, at: 1, ms: 1, ready: ready(), error: null };
    const bad: ProbeResult = { ok: false, at: 2, ms: 300, ready: null, error: 'timeout' };
    let h = applyProbe(initialHealth(0), good, rules);
    expect(h.status).toBe('up');
    h = applyProbe(h, bad, rules);
    expect(h.status).toBe('suspect');
    h = applyProbe(h, good, rules);
    expect(h.status).toBe('suspect');
    h = applyProbe(h, good, rules);
    expect(h.status).toBe('up');
    for (let i = 0; i < 3; i++) h = applyProbe(h, bad, rules);
    expect(h.status).toBe('down');
    h = applyProbe(h, good, rules);
    expect(h.status).toBe('down');
    h = applyProbe(h, good, rules);
    expect(h.status).toBe('up');
  });

  it("a failed probe's body (database gone: no standbys listed) does not replace the last good one", () => {
    const rules = { fall: 3, rise: 2 };
    const good = ready({ standbys: [{ name: 'dc-b', state: 'streaming', syncState: 'sync', lagBytes: 0 }] });
    const gone = ready({
      status: 'not_ready',
      standbys: [],
      checks: { postgres: { ok: false, ms: 1 }, redis: { ok: true, ms: 1 } },
    });
    let h = applyProbe(initialHealth(0), { ok: true, at: 1, ms: 1, ready: good, error: null }, rules);
    for (let i = 0; i < 3; i++)
      h = applyProbe(h, { ok: false, at: 2 + i, ms: 1, ready: gone, error: 'postgres' }, rules);
    expect(h.status).toBe('down');
    expect(h.lastReady?.standbys).toEqual(good.standbys);
  });

  it('a probe that timed out only because the router itself stalled counts neither way', () => {
    const rules = { fall: 3, rise: 2 };
    let h = applyProbe(initialHealth(0), { ok: true, at: 1, ms: 1, ready: ready(), error: null }, rules);
    for (let i = 0; i < 5; i++) {
      h = applyProbe(
        h,
        { ok: false, at: 2 + i, ms: 900, ready: null, error: 'TimeoutError', inconclusive: true },
        rules,
      );
    }
    expect(h).toMatchObject({ status: 'up', consecutiveFailures: 0 });
  });

  it('both regions failing probes together (a starved observer): no failover until the standby holds steady', () => {
    const quiet = decide(fixtures.bothRegionsWentQuiet(300));
    expect(quiet).toMatchObject({ kind: 'refuse_failover', region: 'dc-b' });
    expect(quiet.kind === 'refuse_failover' && quiet.reason).toMatch(/dc-b failed a probe itself/);
    // steady for longer than policy.standbySteadyMs (2 s): the primary really is gone
    expect(decide(fixtures.bothRegionsWentQuiet(2_500))).toMatchObject({ kind: 'failover', to: 'dc-b' });
  });

  it('health: the time of the last failed probe is kept; an inconclusive one does not count', () => {
    const rules = { fall: 3, rise: 2 };
    let h = applyProbe(initialHealth(0), { ok: true, at: 1, ms: 1, ready: ready(), error: null }, rules);
    expect(h.lastFailureAt).toBeNull();
    h = applyProbe(h, { ok: false, at: 5, ms: 500, ready: null, error: 'TimeoutError' }, rules);
    h = applyProbe(h, { ok: true, at: 9, ms: 1, ready: ready(), error: null }, rules);
    expect(h.lastFailureAt).toBe(5);
    h = applyProbe(
      h,
      { ok: false, at: 12, ms: 1500, ready: null, error: 'TimeoutError', inconclusive: true },
      rules,
    );
    expect(h.lastFailureAt).toBe(5);
  });

  it('a slow-but-alive primary (answers within the timeout) is not failed over', () => {
    const s = fixtures.slowButAlivePrimary();
    expect(decide(s)).toEqual({ kind: 'none', outcome: 'no action: dc-a primary, healthy' });
    expect(routeVerdict(s).serving).toBe(true);
  });

  it('first start: dc-a claims epoch 1 with a promote on itself', () => {
    expect(decide(fixtures.firstStart())).toMatchObject({ kind: 'claim', region: 'dc-a', epoch: 1 });
    expect(routeVerdict(fixtures.firstStart()).serving).toBe(false);
  });

  it('promotion cut short by a router crash: the persisted primary is claimed, never a new epoch', () => {
    expect(decide(fixtures.promotionCutShort())).toMatchObject({ kind: 'claim', region: 'dc-b', epoch: 4 });
  });

  it('cells ahead of our state: adopt their primary and epoch, promote nothing', () => {
    expect(decide(fixtures.cellsAhead())).toMatchObject({ kind: 'adopt', region: 'dc-b', epoch: 5 });
  });

  it('not probed yet: waits', () => {
    expect(decide(fixtures.notProbedYet()).kind).toBe('none');
    expect(routeVerdict(fixtures.notProbedYet()).serving).toBe(false);
  });
});

describe('decide(): synchronous standby loss and restore (payments)', () => {
  it('sync standby confirmed down: degrade the primary to async so commits do not hang', () => {
    const d = decide(fixtures.paymentsStandbyDown());
    expect(d).toMatchObject({ kind: 'degrade_async', region: 'dc-a', standby: 'dc-b' });
    expect(d.outcome).toBe('degraded payments to async on dc-a: standby dc-b down');
  });

  it('strict mode: no degrade; writes refused instead', () => {
    const s = fixtures.paymentsStandbyDownStrict();
    expect(decide(s).kind).toBe('none');
    expect(routeVerdict(s)).toEqual({ serving: true, rpoGuaranteeSuspended: false, refuseWrites: true });
  });

  it('degraded and the standby is back, streaming and caught up: restore sync', () => {
    const s = fixtures.paymentsStandbyBackCaughtUp();
    expect(routeVerdict(s).rpoGuaranteeSuspended).toBe(true);
    expect(decide(s)).toMatchObject({ kind: 'restore_sync', region: 'dc-a', standby: 'dc-b' });
  });

  it('degraded and the standby lags over the restore bound: stay async', () => {
    const d = decide(fixtures.paymentsStandbyBackLagging());
    expect(d.kind).toBe('none');
    expect(d.outcome).toContain('RPO guarantee suspended');
  });

  it('degraded and the standby answers but does not stream: stay async', () => {
    expect(decide(fixtures.paymentsStandbyBackNotStreaming()).kind).toBe('none');
  });

  it('after a failover the new primary runs async: RPO guarantee suspended until dc-a is back', () => {
    const s = fixtures.afterFailoverAsync();
    expect(decide(s).kind).toBe('none');
    expect(routeVerdict(s)).toEqual({ serving: true, rpoGuaranteeSuspended: true, refuseWrites: false });
  });

  it('a degraded primary dying is not failed over automatically: the standby may miss acknowledged writes', () => {
    const s = fixtures.paymentsStandbyBackCaughtUp();
    const down = {
      ...s,
      cells: {
        ...s.cells,
        'dc-a': {
          ...s.cells['dc-a'],
          status: 'down' as const,
          consecutiveSuccesses: 0,
          dataTierAlive: false,
        },
      },
    };
    expect(decide(down)).toMatchObject({
      kind: 'refuse_failover',
      reason:
        'RPO 0 suspended: standby dc-b was not in sync at the last check and may miss acknowledged writes (fail over by hand)',
    });
  });
});

describe('decide(): a broken replication link (the standby answers, its WAL receiver does not)', () => {
  /** healthy payments, except that the primary's oldest commit has waited `ms` for its sync standby */
  const stalled = (
    ms: number | null,
    policy: Partial<ReturnType<typeof fixtures.healthyPayments>['policy']> = {},
  ) => {
    const s = fixtures.healthyPayments();
    const a = s.cells['dc-a'];
    return {
      ...s,
      policy: { ...s.policy, ...policy },
      cells: { ...s.cells, 'dc-a': { ...a, lastReady: { ...a.lastReady!, syncWaitMs: ms } } },
    };
  };

  it('a commit waiting past the bound degrades to async, naming the wait', () => {
    const d = decide(stalled(2_500));
    expect(d).toMatchObject({ kind: 'degrade_async', region: 'dc-a', standby: 'dc-b' });
    expect(d.outcome).toBe(
      'degraded payments to async on dc-a: a commit waited 2500 ms for standby dc-b (its WAL receiver is gone or cut off)',
    );
  });

  it('a commit waiting less than the bound (or none) is normal sync latency: no action', () => {
    expect(decide(stalled(1_500)).kind).toBe('none');
    expect(decide(stalled(null)).kind).toBe('none');
    expect(decide(stalled(2_500, { syncStallMs: 3_000 })).kind).toBe('none');
  });

  it('strict mode: writes refused instead of degrading', () => {
    const s = stalled(2_500, { strictSync: true });
    expect(decide(s).outcome).toMatch(
      /^no action: sync standby lost \(a commit waited 2500 ms.*writes refused \(strict\)$/,
    );
    expect(routeVerdict(s)).toEqual({ serving: true, rpoGuaranteeSuspended: false, refuseWrites: true });
  });

  it('a primary dying while its commits were stuck is not failed over with an RPO 0 claim', () => {
    const s = stalled(5_000);
    const dying = { status: 'down' as const, consecutiveSuccesses: 0, dataTierAlive: false };
    const down = { ...s, cells: { ...s.cells, 'dc-a': { ...s.cells['dc-a'], ...dying } } };
    expect(decide(down)).toMatchObject({ kind: 'refuse_failover' });
  });

  it.each([
    // the primary was at 0/3000000 when the router first saw it async (the stuck commit is below that)
    [
      'still cut: the row reads streaming, replied 300 ms ago, lag small, flush behind the degrade',
      '0/2FFFF80',
      'none',
    ],
    ['no flush position reported', null, 'none'],
    ['the link carries WAL again: flushed up to the degrade', '0/3000000', 'restore_sync'],
    ['flushed past it', '0/3000400', 'restore_sync'],
  ] as const)('sync returns only once the standby flushed past the degrade: %s', (_name, flushLsn, kind) => {
    const s = fixtures.paymentsStandbyBackCaughtUp();
    const a = s.cells['dc-a'];
    const snapshot = {
      ...s,
      asyncSinceLsn: '0/3000000',
      policy: { ...s.policy, syncRestoreMaxReplyAgeMs: 15_000 },
      cells: {
        ...s.cells,
        'dc-a': {
          ...a,
          lastReady: {
            ...a.lastReady!,
            walLsn: '0/3000400',
            standbys: a.lastReady!.standbys.map((v) => ({ ...v, replyAgeMs: 300, flushLsn })),
          },
        },
      },
    };
    expect(decide(snapshot).kind).toBe(kind);
  });

  it('sync is restored only to a standby that replied recently (a cut link can still read "streaming")', () => {
    const s = fixtures.paymentsStandbyBackCaughtUp();
    const a = s.cells['dc-a'];
    const withReplyAge = (replyAgeMs: number) => ({
      ...s,
      policy: { ...s.policy, syncRestoreMaxReplyAgeMs: 15_000 },
      cells: {
        ...s.cells,
        'dc-a': {
          ...a,
          lastReady: { ...a.lastReady!, standbys: a.lastReady!.standbys.map((v) => ({ ...v, replyAgeMs })) },
        },
      },
    });
    expect(decide(withReplyAge(40_000)).kind).toBe('none');
    expect(decide(withReplyAge(800)).kind).toBe('restore_sync');
  });
});

describe('decide(): login, an async service whose revocations wait for its standby', () => {
  /** a payments-shaped snapshot relabelled as login: mode async, the standby still synchronous */
  const asLogin = (s: ServiceSnapshot): ServiceSnapshot => ({
    ...s,
    service: 'login',
    mode: 'async',
    syncStandby: true,
  });
  const primaryDown = (s: ServiceSnapshot): ServiceSnapshot => ({
    ...s,
    cells: {
      ...s.cells,
      'dc-a': { ...s.cells['dc-a'], status: 'down', consecutiveSuccesses: 0, dataTierAlive: false },
    },
  });

  it('its sync standby lost: degrade like payments, so a sign-out does not hang', () => {
    expect(decide(asLogin(fixtures.paymentsStandbyDown()))).toMatchObject({
      kind: 'degrade_async',
      outcome: 'degraded login to async on dc-a: standby dc-b down',
    });
    const strict = asLogin(fixtures.paymentsStandbyDownStrict());
    expect(decide(strict).kind).toBe('none');
    expect(routeVerdict(strict).refuseWrites).toBe(true);
  });

  it('a revocation stalled past the bound degrades it; the standby back and caught up restores sync', () => {
    const s = asLogin(fixtures.healthyPayments());
    const a = s.cells['dc-a'];
    const stalled = {
      ...s,
      cells: { ...s.cells, 'dc-a': { ...a, lastReady: { ...a.lastReady!, syncWaitMs: 2_500 } } },
    };
    expect(decide(stalled).kind).toBe('degrade_async');
    expect(decide(asLogin(fixtures.paymentsStandbyBackCaughtUp())).kind).toBe('restore_sync');
  });

  it('fails over with RPO 0 for its revocations from a standby in sync', () => {
    expect(decide(asLogin(fixtures.paymentsPrimaryDown()))).toMatchObject({
      kind: 'failover',
      rpoZero: true,
    });
  });

  it('from a standby that was not in sync: by the lag bound, without an RPO 0 claim (sign-in must survive)', () => {
    const s = primaryDown(asLogin(fixtures.paymentsStandbyBackCaughtUp()));
    expect(decide(s)).toMatchObject({ kind: 'failover', rpoZero: false });
    // payments, with the same cells, is refused
    expect(decide({ ...s, mode: 'sync', syncStandby: true })).toMatchObject({ kind: 'refuse_failover' });
  });

  it('without syncStandby an async service keeps the lag-bound policy (messaging)', () => {
    expect(decide(fixtures.messagingPrimaryDown())).toMatchObject({ kind: 'failover', rpoZero: false });
  });
});

describe('decide() on an operator request: switchover and fence are decisions too', () => {
  it.each([
    [
      'a switchover of a healthy pair moves the primary at epoch+1',
      fixtures.healthyPayments(),
      { kind: 'switchover' },
      'switchover',
      'switch payments over from dc-a to dc-b, epoch 4',
    ],
    [
      'a switchover to the region that already is primary',
      fixtures.healthyPayments(),
      { kind: 'switchover', to: 'dc-a' },
      'refuse_request',
      'request refused: dc-a already is the primary of payments',
    ],
    [
      'a switchover with the standby down',
      fixtures.paymentsStandbyDown(),
      { kind: 'switchover' },
      'refuse_request',
      'request refused: switchover needs both cells up and dc-b in role standby (primary up, target down/standby)',
    ],
    [
      'a switchover with the primary down (that is a failover, not a switchover)',
      fixtures.paymentsPrimaryDown(),
      { kind: 'switchover', to: 'dc-b' },
      'refuse_request',
      'request refused: switchover needs both cells up and dc-b in role standby (primary down, target up/standby)',
    ],
    [
      'a switchover to a fenced cell',
      fixtures.standbyFenced(),
      { kind: 'switchover' },
      'refuse_request',
      'request refused: switchover needs both cells up and dc-b in role standby (primary down, target up/fenced)',
    ],
    [
      'a fence of the standby, at the current epoch',
      fixtures.healthyPayments(),
      { kind: 'fence', region: 'dc-b' },
      'operator_fence',
      'fenced dc-b for payments (operator), epoch 3',
    ],
    [
      'a fence of the primary',
      fixtures.healthyPayments(),
      { kind: 'fence', region: 'dc-a' },
      'refuse_request',
      'request refused: dc-a is the primary of payments; use a switchover',
    ],
  ] as const)('%s', (_name, snapshot, request, kind, outcome) => {
    const decision = decide(snapshot, request);
    expect([decision.kind, decision.outcome]).toEqual([kind, outcome]);
  });
});

describe('decide(): the lease of an old primary the router cannot reach', () => {
  const base = fixtures.paymentsPrimaryDown();
  const withOld = (old: Partial<(typeof base.cells)['dc-a']>) => ({
    ...base,
    cells: { ...base.cells, 'dc-a': { ...base.cells['dc-a'], ...old } },
  });
  it.each([
    [
      'unreachable but maybe alive (a freeze, a partition), lease outstanding: promote once it has run out',
      withOld({ leaseGrantedUntil: base.at + 3_500 }),
      base.at + 3_500,
      "promote dc-b for payments, epoch 4 (RPO 0: was in sync), once dc-a's lease has run out (3500 ms)",
    ],
    [
      'its Postgres refused the connection (gone, not slow): no wait',
      withOld({ leaseGrantedUntil: base.at + 3_500, consecutiveGone: 1 }),
      null,
      'promote dc-b for payments, epoch 4 (RPO 0: was in sync)',
    ],
    [
      'the lease ran out already (it failed probes for longer): no wait',
      withOld({ leaseGrantedUntil: base.at - 1 }),
      null,
      'promote dc-b for payments, epoch 4 (RPO 0: was in sync)',
    ],
    [
      'no lease ever granted (leases off): no wait',
      withOld({ leaseGrantedUntil: null }),
      null,
      'promote dc-b for payments, epoch 4 (RPO 0: was in sync)',
    ],
    [
      'promoted, then cut off before any probe reached it: the promotion’s own lease is waited out',
      withOld({ leaseGrantedUntil: null, promotionLeaseUntil: base.at + 2_800 }),
      base.at + 2_800,
      "promote dc-b for payments, epoch 4 (RPO 0: was in sync), once dc-a's lease has run out (2800 ms)",
    ],
    [
      'a promotion still unanswered counts its deadline + the lease, beyond every probe’s',
      withOld({ leaseGrantedUntil: base.at + 1_000, promotionLeaseUntil: base.at + 17_000 }),
      base.at + 17_000,
      "promote dc-b for payments, epoch 4 (RPO 0: was in sync), once dc-a's lease has run out (17000 ms)",
    ],
    [
      'probes granted later than the promotion: theirs is waited out',
      withOld({ leaseGrantedUntil: base.at + 3_500, promotionLeaseUntil: base.at + 900 }),
      base.at + 3_500,
      "promote dc-b for payments, epoch 4 (RPO 0: was in sync), once dc-a's lease has run out (3500 ms)",
    ],
    [
      'a promotion’s lease does not hold back the failover from a gone primary',
      withOld({ promotionLeaseUntil: base.at + 2_800, consecutiveGone: 1 }),
      null,
      'promote dc-b for payments, epoch 4 (RPO 0: was in sync)',
    ],
  ] as const)('%s', (_name, snapshot, leaseUntil, outcome) => {
    const d = decide(snapshot);
    expect(d).toMatchObject({ kind: 'failover', to: 'dc-b', leaseUntil });
    expect(d.outcome).toBe(outcome);
  });

  it.each([
    ['up: granted', { status: 'up', consecutiveFailures: 0 }, true],
    ['not judged yet (router just started): granted', { status: 'unknown', consecutiveFailures: 0 }, true],
    [
      'suspected (a slow, starved cell): still granted, or it fences itself while still routed to',
      { status: 'suspect', consecutiveFailures: 2 },
      true,
    ],
    [
      'failing before any verdict: granted until confirmed',
      { status: 'unknown', consecutiveFailures: 2 },
      true,
    ],
    [
      'confirmed down: none, so the bound a failover waits out stops moving',
      { status: 'down', consecutiveFailures: 3 },
      false,
    ],
    [
      'confirmed down but its last probe answered (rising again): granted',
      { status: 'down', consecutiveFailures: 0 },
      true,
    ],
  ] as const)('the next probe grants a lease when %s', (_name, state, granted) => {
    expect(grantsLease({ ...initialHealth(0), ...state } as CellHealth)).toBe(granted);
  });

  it('a frozen primary: leases up to the probe that confirms it down, then the failover waits that out', () => {
    // probes every 500 ms (each one times out at its 500 ms deadline), lease 3 000 ms, fall 3
    const rules = { fall: 3, rise: 2 };
    const leaseMs = 3_000;
    const probeAt = (h: CellHealth, at: number, ok: boolean): CellHealth =>
      applyProbe(
        h,
        {
          ok,
          at,
          ms: ok ? 3 : 500,
          ready: ok ? ready() : null,
          error: ok ? null : 'TimeoutError',
          ...(grantsLease(h) ? { leaseUntil: at + 500 + leaseMs } : {}),
        },
        rules,
      );
    let h = probeAt(initialHealth(0), 1_000, true);
    h = probeAt(h, 1_500, false); // the freeze: suspected, still granted
    h = probeAt(h, 2_000, false);
    h = probeAt(h, 2_500, false); // confirmed down by this one, sent while suspected
    expect([h.status, h.leaseGrantedUntil]).toEqual(['down', 2_500 + 500 + leaseMs]);
    h = probeAt(h, 3_000, false); // probes of a cell confirmed down grant nothing
    h = probeAt(h, 3_500, false);
    expect(h.leaseGrantedUntil).toBe(6_000);
    const base = fixtures.paymentsPrimaryDown();
    // what it last said while healthy (in sync) is the fixture's
    const old = { ...h, lastReady: base.cells['dc-a'].lastReady };
    const d = decide({ ...base, at: 3_600, cells: { ...base.cells, 'dc-a': old } });
    expect(d).toMatchObject({ kind: 'failover', to: 'dc-b', leaseUntil: 6_000 });
    expect(d.outcome).toBe(
      "promote dc-b for payments, epoch 4 (RPO 0: was in sync), once dc-a's lease has run out (2400 ms)",
    );
  });

  it.each([
    ['up', { status: 'up', consecutiveFailures: 0 }, true],
    ['one probe lost (suspected)', { status: 'suspect', consecutiveFailures: 1 }, true],
    [
      'two lost in a row: the next one would confirm it down, and grants none',
      { status: 'suspect', consecutiveFailures: 2 },
      false,
    ],
    ['confirmed down', { status: 'down', consecutiveFailures: 3 }, false],
    [
      'confirmed down but its last probe answered (rising again)',
      { status: 'down', consecutiveFailures: 0 },
      true,
    ],
  ] as const)('with leaseFall 2, the next probe grants a lease when %s', (_name, state, granted) => {
    expect(grantsLease({ ...initialHealth(0), ...state } as CellHealth, 2)).toBe(granted);
  });

  it('a frozen primary with leaseFall 2: the failover waits the lease after the probe before the one that confirmed it', () => {
    // sequential probes, each timing out at its 500 ms deadline, lease 1 000 ms (the lab), fall 3
    const rules = { fall: 3, rise: 2 };
    const leaseMs = 1_000;
    const probeAt = (h: CellHealth, at: number, ok: boolean): CellHealth =>
      applyProbe(
        h,
        {
          ok,
          at,
          ms: ok ? 3 : 500,
          ready: ok ? ready() : null,
          error: ok ? null : 'TimeoutError',
          ...(grantsLease(h, 2) ? { leaseUntil: at + 500 + leaseMs } : {}),
        },
        rules,
      );
    let h = probeAt(initialHealth(0), 1_000, true);
    h = probeAt(h, 1_500, false); // the freeze
    h = probeAt(h, 2_000, false); // sent after one loss: still granted
    h = probeAt(h, 2_500, false); // sent after two: none; it confirms the cell down
    expect([h.status, h.leaseGrantedUntil]).toEqual(['down', 2_000 + 500 + leaseMs]);
    const base = fixtures.paymentsPrimaryDown();
    const old = { ...h, lastReady: base.cells['dc-a'].lastReady };
    // confirmed when the last probe timed out (3 000): the lease runs out 500 ms later, not 1 000
    const d = decide({ ...base, at: 3_000, cells: { ...base.cells, 'dc-a': old } });
    expect(d).toMatchObject({ kind: 'failover', to: 'dc-b', leaseUntil: 3_500 });
  });

  it.each([
    ['off (0)', { now: 5_000, oldestOutstandingAt: 1_000, lastAnswerAt: 1_000 }, 0, false],
    [
      'nothing outstanding (an idle cell is not silent)',
      { now: 5_000, oldestOutstandingAt: null, lastAnswerAt: 1_000 },
      400,
      false,
    ],
    [
      'a request outstanding 400 ms, no answer since it left: silent',
      { now: 1_400, oldestOutstandingAt: 1_000, lastAnswerAt: 990 },
      400,
      true,
    ],
    [
      'outstanding 399 ms: not yet',
      { now: 1_399, oldestOutstandingAt: 1_000, lastAnswerAt: 990 },
      400,
      false,
    ],
    [
      'a slow request, but the cell answered others since (flooded, not frozen): not silent',
      { now: 3_000, oldestOutstandingAt: 1_000, lastAnswerAt: 2_900 },
      400,
      false,
    ],
    [
      'a 300 ms spike: every answer 300 ms late, the silence shorter than 400 ms',
      { now: 1_310, oldestOutstandingAt: 1_000, lastAnswerAt: 960 },
      400,
      false,
    ],
    [
      'never answered anything, something outstanding 400 ms',
      { now: 1_400, oldestOutstandingAt: 1_000, lastAnswerAt: null },
      400,
      true,
    ],
  ] as const)('passive suspicion (isSilent): %s', (_name, silence, silenceMs, silent) => {
    expect(isSilent(silence, silenceMs)).toBe(silent);
  });

  it.each([
    ['up but silent', { status: 'up', consecutiveFailures: 0 }],
    ['suspected and silent', { status: 'suspect', consecutiveFailures: 1 }],
  ] as const)('a silent cell is granted no lease, whatever its probes say: %s', (_name, state) => {
    const h = { ...initialHealth(0), ...state } as CellHealth;
    expect([grantsLease(h, 3, false), grantsLease(h, 3, true)]).toEqual([true, false]);
  });

  it('a frozen primary under traffic: grants stop ~silenceMs after the freeze, and the failover waits only that + grant + lease', () => {
    // requests every 10 ms, answered in 5 ms until the freeze at 10 000; silenceMs 400, grant 200 ms,
    // lease 600 ms; probes every 200 ms, each timing out at its 500 ms deadline after the freeze
    const silenceMs = 400;
    const grantMs = 200;
    const leaseMs = 600;
    const freeze = 10_000;
    let h = applyProbe(
      initialHealth(0),
      { ok: true, at: 9_900, ms: 3, ready: ready(), error: null },
      { fall: 3, rise: 2 },
    );
    const outstanding: number[] = [];
    let lastAnswerAt: number | null = 9_995;
    let granted = 0;
    for (let at = 10_000; at < 12_000; at += 10) {
      // before the freeze, each request is answered 5 ms after it left
      if (at < freeze) lastAnswerAt = at - 5;
      const silent = isSilent(
        { now: at, oldestOutstandingAt: outstanding[0] ?? null, lastAnswerAt },
        silenceMs,
      );
      if (grantsLease(h, 3, silent)) granted = Math.max(granted, at + grantMs + leaseMs);
      outstanding.push(at);
    }
    // the last grant left just before freeze + silenceMs
    expect(granted).toBe(freeze + silenceMs - 10 + grantMs + leaseMs);
    // confirmed down by three probe timeouts (sent at 10 000, 10 500, 11 000), granting nothing since
    // the first of them went out silent… the bound is the requests', not moved by the probes
    for (const at of [10_000, 10_500, 11_000]) {
      const silent = isSilent({ now: at, oldestOutstandingAt: freeze, lastAnswerAt }, silenceMs);
      h = applyProbe(
        h,
        {
          ok: false,
          at,
          ms: 500,
          ready: null,
          error: 'TimeoutError',
          ...(grantsLease(h, 3, silent) ? { leaseUntil: at + grantMs + leaseMs } : {}),
        },
        { fall: 3, rise: 2 },
      );
    }
    h = { ...h, leaseGrantedUntil: Math.max(h.leaseGrantedUntil ?? 0, granted) };
    expect([h.status, h.leaseGrantedUntil]).toEqual(['down', granted]);
    const base = fixtures.paymentsPrimaryDown();
    const old = { ...h, lastReady: base.cells['dc-a'].lastReady };
    const d = decide({ ...base, at: 11_500, cells: { ...base.cells, 'dc-a': old } });
    // the bound (11 190) is already past at confirmation: no lease wait at all
    expect(d).toMatchObject({ kind: 'failover', to: 'dc-b', leaseUntil: null });
  });

  it('every probe sent, answered or not, extends the bound to its deadline + the lease', () => {
    const h0 = initialHealth(0);
    const answered: ProbeResult = {
      ok: true,
      at: 1_000,
      ms: 3,
      ready: ready(),
      error: null,
      leaseUntil: 5_500,
    };
    const h1 = applyProbe(h0, answered, { fall: 3, rise: 2 });
    const lost: ProbeResult = {
      ok: false,
      at: 1_200,
      ms: 500,
      ready: null,
      error: 'TimeoutError',
      leaseUntil: 5_700,
    };
    const h2 = applyProbe(h1, lost, { fall: 3, rise: 2 });
    const late: ProbeResult = { ...lost, at: 1_400, inconclusive: true, leaseUntil: 5_900 };
    const h3 = applyProbe(h2, late, { fall: 3, rise: 2 });
    expect([h1.leaseGrantedUntil, h2.leaseGrantedUntil, h3.leaseGrantedUntil]).toEqual([5_500, 5_700, 5_900]);
    // a probe that granted none (leases off) leaves the bound where it was
    expect(
      applyProbe(h3, { ...answered, at: 1_600, leaseUntil: undefined }, { fall: 3, rise: 2 })
        .leaseGrantedUntil,
    ).toBe(5_900);
  });
});

describe('passive confirmation (probe.confirmSilenceMs): a silent cell is confirmed down at its second failed probe', () => {
  const rules = { fall: 3, rise: 2, confirmSilenceMs: 900, confirmFall: 2 };
  const good: ProbeResult = { ok: true, at: 0, ms: 1, ready: ready(), error: null };
  const failed = (silentMs?: number): ProbeResult => ({
    ok: false,
    at: 1,
    ms: 500,
    ready: null,
    error: 'TimeoutError',
    ...(silentMs !== undefined ? { silentMs } : {}),
  });
  it.each([
    ['two failures, nothing answered for 900 ms: down', rules, [0, 900], 'down'],
    ['two failures, an answer 899 ms ago: suspected', rules, [0, 899], 'suspect'],
    ['one failure, silent for 5 s: suspected (a probe must fail twice)', rules, [5_000], 'suspect'],
    ['two failures, silence not measured: suspected', rules, [undefined, undefined], 'suspect'],
    ['off (0): two silent failures stay suspected', { ...rules, confirmSilenceMs: 0 }, [0, 5_000], 'suspect'],
    ['confirmFall above fall is capped at fall', { ...rules, confirmFall: 9 }, [0, 900, 900], 'down'],
    ['confirmFall 1: the first silent failure', { ...rules, confirmFall: 1 }, [900], 'down'],
    ['three failures, never silent: down by `fall` as ever', rules, [0, 0, 0], 'down'],
  ] as const)('%s', (_name, r, silences, status) => {
    let h = applyProbe(initialHealth(0), good, r);
    for (const silentMs of silences) h = applyProbe(h, failed(silentMs), r);
    expect(h.status).toBe(status);
  });

  it('an inconclusive probe confirms nothing, however silent', () => {
    let h = applyProbe(initialHealth(0), good, rules);
    h = applyProbe(h, failed(2_000), rules);
    h = applyProbe(h, { ...failed(2_000), inconclusive: true }, rules);
    expect([h.status, h.consecutiveFailures]).toEqual(['suspect', 1]);
  });

  /**
   * The lab's probes (every 200 ms, 500 ms timeout) against an edge link that is down `outageMs`, up as
   * long, again and again (the flapping drill), under traffic: what was sent during an outage is
   * delivered at the heal and answered `lateMs` later (a busy cell). Or, with `outageMs` Infinity, a
   * freeze at 0. Each failed probe carries the silence Prober measures: since the first of the failing
   * run was sent, or since the last answer of anything, whichever is later.
   */
  function linkOutages(outageMs: number, lateMs: number, untilMs: number) {
    const down = (t: number) => t >= 0 && Math.floor(t / outageMs) % 2 === 0;
    const healOf = (t: number) => (Math.floor(t / outageMs) + 1) * outageMs;
    // the traffic's last answer before `t`: requests answered every 10 ms while the link is up (and
    // `lateMs` after each heal, the ones it held)
    const lastAnswerBefore = (t: number) => {
      if (t < 0) return t;
      if (!Number.isFinite(outageMs)) return 0;
      for (let x = Math.floor(t / 10) * 10; x >= 0; x -= 10) {
        const heal = down(x) ? null : Math.floor(x / outageMs) * outageMs;
        if (heal !== null && x >= heal + lateMs) return x;
      }
      return 0;
    };
    let h = applyProbe(initialHealth(-1_000), good, rules);
    let failingSince: number | null = null;
    let t = -150;
    const statuses: string[] = [];
    while (t < untilMs) {
      const answeredAt = down(t) ? healOf(t) + lateMs : t + 2;
      if (answeredAt <= t + 500) {
        h = applyProbe(h, { ...good, at: answeredAt }, rules);
        failingSince = null;
        t = Math.max(answeredAt, t + 200);
      } else {
        failingSince ??= t;
        const at = t + 500;
        const silentMs = at - Math.max(failingSince, lastAnswerBefore(at));
        h = applyProbe(h, { ...failed(silentMs), at }, rules);
        t = at;
      }
      statuses.push(h.status);
      if (h.status === 'down') break;
    }
    return { statuses, h };
  }

  it.each([0, 100, 200, 350])(
    'the flapping drill (700 ms down, 700 ms up, 15 s), answers %i ms after each heal: never down',
    (lateMs) => {
      const { statuses } = linkOutages(700, lateMs, 15_000);
      expect(statuses).toContain('suspect');
      expect(statuses).not.toContain('down');
    },
  );

  it('a freeze under traffic: down at the second probe timeout (~1.0–1.2 s), not the third', () => {
    const { h } = linkOutages(Number.POSITIVE_INFINITY, 0, 2_000);
    expect(h.status).toBe('down');
    expect(h.consecutiveFailures).toBe(2);
    expect(h.since).toBeGreaterThanOrEqual(1_000);
    expect(h.since).toBeLessThanOrEqual(1_200);
  });
});
