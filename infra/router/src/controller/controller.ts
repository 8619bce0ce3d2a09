// The failover controller's loop: per service, observe() → decide() → act(), serialized per service.
// Actions go through narrow injected interfaces (cell admin, route table, state store, events, clock)
// so the loop runs in tests without a network. Operator requests are decided by the same decide() and
// carried out in switchover.ts; what the controller reports is assembled in status.ts.
import {
  type EventType,
  otherRegion,
  type PromotionSteps,
  REGIONS,
  type RegionName,
  type ServiceName,
} from '@failover-lab/contracts';
import { type CellAdmin, CellAdminError } from '../cell-admin';
import { syncStandbyNamesList } from '../cell-types';
import type { ServiceConfig } from '../config';
import { RouterError } from '../errors';
import { type CellHealth, isAnswering } from '../health/cell-health';
import type { ProbeTarget } from '../health/prober';
import type { RouterMetrics } from '../metrics';
import type { RouteTable } from '../route-table';
import type { EventLog } from '../state/events';
import {
  initialServiceState,
  type RouterState,
  type ServiceState,
  type StateStore,
} from '../state/state-store';
import {
  activeRegions,
  type Decision,
  decide,
  decideActiveActive,
  type OperatorRequest,
  routeVerdict,
  type ServiceSnapshot,
} from './decide';
import { controllerStatus } from './status';
import { type ControllerOps, runOperatorFence, runSwitchover } from './switchover';

export interface HealthSource {
  health(service: ServiceName, region: RegionName): CellHealth;
  probeNow(service: ServiceName, region: RegionName): Promise<CellHealth>;
  /** counts a lease a promotion grants (Prober.countPromotionLease); the result lowers it once answered */
  countPromotionLease(service: ServiceName, region: RegionName, until: number): (answered: number) => void;
}

export interface Clock {
  now(): number;
}

export interface ControllerDeps {
  services: Partial<Record<ServiceName, ServiceConfig>>;
  health: HealthSource;
  admin: CellAdmin;
  routes: RouteTable;
  store: StateStore;
  events: EventLog;
  metrics: RouterMetrics;
  clock: Clock;
  log: (line: string) => void;
  /** no automatic failover this long after start() */
  startupGraceMs?: number;
}

interface ServiceRuntime {
  lastOutcome: string | null;
  /** the primary was confirmed down at this time and traffic has not been routed elsewhere since */
  downSince: number | null;
  /** the (region, epoch) last announced with a `routed` event */
  routedTo: string | null;
  rpoSuspended: boolean;
  /** a promotion's steps so far, completed with routeMs by the `routed` event that ends it */
  pendingSteps: { steps: PromotionSteps; promotedAt: number } | null;
  /**
   * A sync service's primary seen running async: its route (primary@epoch) and its WAL position at the
   * first answer that showed it (decide's asyncSinceLsn); null while it runs sync.
   */
  asyncSince: { route: string; lsn: string | null } | null;
  /** per region, the last self-fence (its lease ran out) already announced with a `fenced` event */
  selfFenceSeen: Partial<Record<RegionName, string>>;
  /** wall-clock ms when the last promotion of this service was sent (policy.settleMs counts from it) */
  lastPromotionAt: number | null;
  chain: Promise<unknown>;
  tickQueued: boolean;
}

export class Controller {
  private state: RouterState = { version: 1, services: {} };
  private readonly runtime = new Map<ServiceName, ServiceRuntime>();
  private timer: NodeJS.Timeout | null = null;
  private startedAt = Number.NEGATIVE_INFINITY;
  private saving: Promise<void> = Promise.resolve();
  /** changes waiting for the next save, and that save (null: none queued yet) */
  private readonly unsaved = new Map<ServiceName, ServiceState>();
  private nextSave: Promise<void> | null = null;
  private stopped = false;

  /** what a planned switchover and an operator fence use of the loop */
  private readonly ops: ControllerOps;

  constructor(private readonly deps: ControllerDeps) {
    this.ops = {
      deps,
      persist: (service, primary, epoch) => this.persist(service, primary, epoch),
      emit: (type, service, region, epoch, detail, steps) =>
        this.emit(type, service, region, epoch, detail, steps),
      reroute: (service) => this.applyVerdict(this.observe(service)),
      promote: (service, region, epoch) => this.promote(service, region, epoch),
    };
    for (const service of this.serviceNames()) {
      this.runtime.set(service, {
        lastOutcome: null,
        downSince: null,
        routedTo: null,
        rpoSuspended: false,
        pendingSteps: null,
        asyncSince: null,
        selfFenceSeen: {},
        lastPromotionAt: null,
        chain: Promise.resolve(),
        tickQueued: false,
      });
    }
  }

  serviceNames(): ServiceName[] {
    return Object.keys(this.deps.services) as ServiceName[];
  }

  /** Read the persisted state (or create the first one: dc-a primary at epoch 1). Never promotes by itself. */
  private readonly bornThisRun = new Set<ServiceName>();

  async init(): Promise<void> {
    const loaded = this.deps.store.load();
    const now = new Date(this.deps.clock.now());
    this.state = loaded ?? { version: 1, services: {} };
    let changed = loaded === null;
    for (const service of this.serviceNames()) {
      if (!this.state.services[service]) {
        this.state.services[service] = initialServiceState(now);
        this.bornThisRun.add(service);
        changed = true;
      }
      const s = this.state.services[service]!;
      this.deps.routes.set(service, {
        primary: s.primary,
        epoch: s.epoch,
        serving: false,
        refuseWrites: false,
      });
      this.deps.metrics.epoch.set({ service }, s.epoch);
      this.deps.metrics.rpoSuspended.set({ service }, 0);
    }
    if (changed) await this.deps.store.save(this.state);
  }

  start(intervalMs: number): void {
    this.startedAt = this.deps.clock.now();
    // Re-decide when the grace ends, not only at the next health change.
    setTimeout(() => {
      for (const service of this.serviceNames()) this.requestTick(service);
    }, this.deps.startupGraceMs ?? 0).unref();
    this.timer = setInterval(() => {
      for (const service of this.serviceNames()) this.requestTick(service);
    }, intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.runtime.values()].map((r) => r.chain.catch(() => {})));
  }

  primaryOf(service: ServiceName): { region: RegionName; epoch: number } {
    const s = this.state.services[service]!;
    return { region: s.primary, epoch: s.epoch };
  }

  /** Health transitions from the prober: events, cutting loose requests to a dead cell, and a tick now. */
  onHealthTransition(target: ProbeTarget, previous: CellHealth, next: CellHealth): void {
    const { service, region } = target;
    if (!this.runtime.has(service)) return;
    const epoch = this.state.services[service]?.epoch ?? 0;
    const metrics = this.deps.metrics;
    metrics.cellUp.set({ service, region }, next.status === 'up' || next.status === 'suspect' ? 1 : 0);
    if (next.status === 'suspect')
      this.emit('suspected', service, region, epoch, next.lastError ?? undefined);
    if (next.status === 'down') {
      // when the probe that confirmed it left, and on what evidence: what a kill's detection waited for
      // (the cell's sockets closing, or the probe's own start)
      const sent = Math.max(0, this.deps.clock.now() - next.since);
      const evidence = next.consecutiveGone > 0 ? ', its Postgres refused too' : '';
      this.emit(
        'confirmed_down',
        service,
        region,
        epoch,
        `${next.lastError ?? 'failed'} (probe sent ${sent} ms before${evidence})`,
      );
      const rt = this.runtime.get(service)!;
      if (this.activeActive(service)) {
        // no promotion to wait for: reads stuck on the lost region go to the other one now
        this.deps.routes.abortInFlight(service, region, `${region} confirmed down`);
      } else if (region === this.state.services[service]?.primary) {
        rt.downSince = this.deps.clock.now();
        // Reads stuck on a frozen or dead primary: let the data plane resend them to the new primary.
        this.deps.routes.abortInFlight(service, region, `${region} confirmed down`);
      }
    }
    if (next.status === 'up' && (previous.status === 'down' || previous.status === 'suspect')) {
      if (previous.status === 'down') this.emit('recovered', service, region, epoch);
      const rt = this.runtime.get(service)!;
      if (region === this.state.services[service]?.primary) rt.downSince = null;
    }
    this.requestTick(service);
  }

  /** Queue a tick; ticks of one service never overlap (nor with a switchover or an admin fence). */
  requestTick(service: ServiceName): void {
    const rt = this.runtime.get(service);
    if (!rt || rt.tickQueued || this.stopped) return;
    rt.tickQueued = true;
    void this.serialized(service, async () => {
      rt.tickQueued = false;
      await this.tick(service);
    }).catch((err) => this.deps.log(`tick ${service} failed: ${(err as Error).message}`));
  }

  /** One observe → decide → act cycle; returns its one-line outcome. */
  async tick(service: ServiceName): Promise<string> {
    if (this.stopped) return 'stopped';
    const snapshot = this.observe(service);
    this.applyVerdict(snapshot);
    const decision = this.activeActive(service) ? decideActiveActive(snapshot) : decide(snapshot);
    const outcome = await this.act(snapshot, decision);
    this.applyVerdict(this.observe(service));
    const rt = this.runtime.get(service)!;
    if (outcome !== rt.lastOutcome) {
      rt.lastOutcome = outcome;
      this.deps.log(`${service}: ${outcome}`);
    }
    return outcome;
  }

  observe(service: ServiceName): ServiceSnapshot {
    const config = this.deps.services[service]!;
    const s = this.state.services[service]!;
    const cells = {} as Record<RegionName, CellHealth>;
    for (const region of REGIONS) cells[region] = this.deps.health.health(service, region);
    const asyncSince = this.trackAsyncSince(service, s.primary, s.epoch, cells[s.primary]);
    return Object.freeze({
      service,
      mode: config.mode,
      syncStandby: config.syncStandby,
      at: this.deps.clock.now(),
      primary: s.primary,
      epoch: s.epoch,
      cells: Object.freeze(cells),
      inStartupGrace: this.deps.clock.now() - this.startedAt < (this.deps.startupGraceMs ?? 0),
      ...(asyncSince ? { asyncSinceLsn: asyncSince.lsn } : {}),
      policy: Object.freeze({
        maxFailoverLagBytes: config.policy.maxFailoverLagBytes,
        syncRestoreMaxLagBytes: config.policy.syncRestoreMaxLagBytes,
        strictSync: config.policy.strictSync,
        syncStallMs: config.policy.syncStallMs,
        syncRestoreMaxReplyAgeMs: config.policy.syncRestoreMaxReplyAgeMs,
        appRestartGraceMs: config.policy.appRestartGraceMs,
        standbySteadyMs: config.policy.standbySteadyMs,
      }),
    });
  }

  /**
   * Marks where a sync service's primary was when the router first saw it commit without its standby:
   * sync comes back only once the standby has flushed past that mark (decide's canRestoreSync).
   */
  private trackAsyncSince(
    service: ServiceName,
    primary: RegionName,
    epoch: number,
    health: CellHealth,
  ): ServiceRuntime['asyncSince'] {
    const rt = this.runtime.get(service)!;
    const config = this.deps.services[service]!;
    const ready = health.lastReady;
    const keepsSync = config.syncStandby ?? config.mode === 'sync';
    if (!keepsSync || !ready || !isAnswering(health)) return rt.asyncSince;
    const route = `${primary}@${epoch}`;
    if (syncStandbyNamesList(ready.synchronousStandbyNames).length > 0) rt.asyncSince = null;
    else if (rt.asyncSince?.route !== route) rt.asyncSince = { route, lsn: ready.walLsn };
    return rt.asyncSince?.route === route ? rt.asyncSince : null;
  }

  lastOutcome(service: ServiceName): string | null {
    return this.runtime.get(service)?.lastOutcome ?? null;
  }

  /** The persisted epoch of a service (what every probe's lease is granted at), null if unknown. */
  /**
   * No state was persisted for this service before this run: no earlier run of the router can have a
   * promotion of it in flight (the epoch is persisted before any promotion is sent), so a starting
   * router need not count one (Prober.grantLeases).
   */
  stateBornThisRun(service: ServiceName): boolean {
    return this.bornThisRun.has(service);
  }

  epochOf(service: ServiceName): number | null {
    return this.state.services[service]?.epoch ?? null;
  }

  /**
   * The lease a grant of this service carries now (wall-clock `now`): policy.leaseMs, or
   * policy.settleLeaseMs when longer within policy.settleMs of the last promotion sent — a just-promoted
   * primary takes every request held through the failover at once, while the old region thaws beside it.
   * 0: leases off.
   */
  leaseMsOf(service: ServiceName, now = Date.now()): number {
    const policy = this.deps.services[service]?.policy;
    if (!policy || policy.leaseMs <= 0) return 0;
    const since = this.runtime.get(service)?.lastPromotionAt ?? null;
    const settling = since !== null && (policy.settleMs ?? 0) > 0 && now - since < (policy.settleMs ?? 0);
    return settling ? Math.max(policy.leaseMs, policy.settleLeaseMs ?? 0) : policy.leaseMs;
  }

  rpoSuspended(service: ServiceName): boolean {
    return this.runtime.get(service)?.rpoSuspended ?? false;
  }

  activeActive(service: ServiceName): boolean {
    return this.deps.services[service]?.topology === 'active-active';
  }

  /**
   * Active-active: the route is every region that serves; a `routed` event each time that set
   * changes (a region lost or back), which is the whole of an active-active "failover".
   */
  private applyActiveActiveVerdict(snapshot: ServiceSnapshot): void {
    const { service } = snapshot;
    const active = activeRegions(snapshot);
    this.deps.routes.set(service, {
      primary: snapshot.primary,
      epoch: snapshot.epoch,
      serving: active.length > 0,
      refuseWrites: false,
      active,
    });
    for (const region of REGIONS) {
      const status = snapshot.cells[region].status;
      if (status !== 'unknown') {
        this.deps.metrics.cellUp.set({ service, region }, status === 'up' || status === 'suspect' ? 1 : 0);
      }
    }
    const rt = this.runtime.get(service)!;
    const routeKey = `${active.join('+')}@${snapshot.epoch}`;
    if (active.length > 0 && rt.routedTo !== routeKey) {
      const previous = rt.routedTo;
      rt.routedTo = routeKey;
      const lost = REGIONS.filter((r) => !active.includes(r));
      this.emit(
        'routed',
        service,
        active[0]!,
        snapshot.epoch,
        lost.length === 0
          ? `active-active: ${active.join(' + ')} serving`
          : `active-active: ${active.join(' + ')} serving, ${lost.join(' + ')} lost (no promotion)` +
              (previous === null ? '' : `; was ${previous.split('@')[0]}`),
      );
    }
  }

  /** Route table, gauges and the routed / degraded_async / sync_restored events follow the snapshot. */
  private applyVerdict(snapshot: ServiceSnapshot): void {
    const { service } = snapshot;
    if (this.activeActive(service)) {
      this.applyActiveActiveVerdict(snapshot);
      return;
    }
    const verdict = routeVerdict(snapshot);
    const rt = this.runtime.get(service)!;
    this.deps.routes.set(service, {
      primary: snapshot.primary,
      epoch: snapshot.epoch,
      serving: verdict.serving,
      refuseWrites: verdict.refuseWrites,
    });
    for (const region of REGIONS) {
      const status = snapshot.cells[region].status;
      if (status !== 'unknown') {
        this.deps.metrics.cellUp.set({ service, region }, status === 'up' || status === 'suspect' ? 1 : 0);
      }
    }
    // A cell that fenced itself (its lease ran out) did so without us: the event stream still says so.
    for (const region of REGIONS) {
      const ready = snapshot.cells[region].lastReady;
      const at = ready?.selfFencedAt;
      if (at && ready.fenced && rt.selfFenceSeen[region] !== at) {
        rt.selfFenceSeen[region] = at;
        this.emit('fenced', service, region, ready.epoch, `fenced itself at ${at}: its lease ran out`);
      }
    }
    const routeKey = `${snapshot.primary}@${snapshot.epoch}`;
    if (verdict.serving && rt.routedTo !== routeKey) {
      rt.routedTo = routeKey;
      const pending = rt.pendingSteps;
      rt.pendingSteps = null;
      this.emit(
        'routed',
        service,
        snapshot.primary,
        snapshot.epoch,
        undefined,
        pending
          ? { ...pending.steps, routeMs: Math.max(0, this.deps.clock.now() - pending.promotedAt) }
          : undefined,
      );
      if (rt.downSince !== null) {
        this.deps.metrics.failoverDuration.observe(
          { service },
          (this.deps.clock.now() - rt.downSince) / 1000,
        );
        rt.downSince = null;
      }
    }
    if (verdict.serving && verdict.rpoGuaranteeSuspended !== rt.rpoSuspended) {
      rt.rpoSuspended = verdict.rpoGuaranteeSuspended;
      this.deps.metrics.rpoSuspended.set({ service }, rt.rpoSuspended ? 1 : 0);
      const standby = otherRegion(snapshot.primary);
      if (rt.rpoSuspended) {
        this.emit(
          'degraded_async',
          service,
          snapshot.primary,
          snapshot.epoch,
          `commits no longer wait for ${standby} (standby ${snapshot.cells[standby].status})`,
        );
      } else
        this.emit('sync_restored', service, snapshot.primary, snapshot.epoch, `${standby} synchronous again`);
    }
  }

  private async act(snapshot: ServiceSnapshot, decision: Decision): Promise<string> {
    const { service } = snapshot;
    const url = (region: RegionName) => this.deps.services[service]!.cells[region];
    const rt = this.runtime.get(service)!;
    try {
      switch (decision.kind) {
        case 'none':
          return decision.outcome;
        case 'refuse_failover':
          // One event per distinct refusal, not one per tick.
          if (rt.lastOutcome !== decision.outcome) {
            this.emit('failover_refused', service, decision.region, snapshot.epoch, decision.reason);
          }
          return decision.outcome;
        case 'fence':
          await this.deps.admin.fence(url(decision.region), decision.epoch);
          this.emit('fenced', service, decision.region, decision.epoch, 'claimed primary at a stale epoch');
          await this.deps.health.probeNow(service, decision.region);
          return decision.outcome;
        case 'adopt':
          await this.persist(service, decision.region, decision.epoch);
          return decision.outcome;
        case 'claim': {
          const result = await this.promote(service, decision.region, decision.epoch);
          this.emit(
            'promoted',
            service,
            decision.region,
            decision.epoch,
            `claim; promoteMs=${result.promoteMs ?? 0}`,
          );
          await this.deps.health.probeNow(service, decision.region);
          return decision.outcome;
        }
        case 'failover': {
          const clock = this.deps.clock;
          const old = snapshot.cells[decision.from];
          const steps: PromotionSteps = {};
          // probe: the first failed probe of this run → confirmed down; decide: confirmed down → here
          if (old.failingSince !== null && old.status === 'down')
            steps.probeMs = Math.max(0, old.since - old.failingSince);
          if (rt.downSince !== null) steps.decideMs = Math.max(0, clock.now() - rt.downSince);
          // The lease first: an old primary that may still be alive has fenced itself once it is over.
          const leaseWaitMs = await waitUntilWallClock(decision.leaseUntil);
          if (decision.leaseUntil !== null) steps.leaseMs = leaseWaitMs;
          const waitedMs = await this.waitForAbandonedWrites(service, otherRegion(decision.to));
          steps.writesMs = waitedMs;
          // none of them can commit there now: resend the retry-safe ones as soon as the new primary serves
          this.deps.routes.abortInFlightWrites(
            service,
            decision.from,
            `${decision.from} can no longer commit (deadline or lease over)`,
          );
          this.emit(
            'promote_started',
            service,
            decision.to,
            decision.epoch,
            (decision.rpoZero ? 'standby was synchronous: RPO 0' : 'async standby within lag bound') +
              (leaseWaitMs > 0 ? `; waited ${leaseWaitMs} ms for the old primary's lease to run out` : '') +
              (waitedMs > 0
                ? `; waited ${waitedMs} ms for writes sent to the old primary to end or pass their deadline`
                : ''),
          );
          // The epoch is durable before any cell hears of it: a crash here can only repeat this promotion.
          let t0 = clock.now();
          await this.persist(service, decision.to, decision.epoch);
          steps.epochMs = clock.now() - t0;
          t0 = clock.now();
          const result = await this.promote(service, decision.to, decision.epoch);
          steps.adminMs = clock.now() - t0;
          Object.assign(steps, result.steps);
          rt.pendingSteps = { steps, promotedAt: clock.now() };
          this.emit(
            'promoted',
            service,
            decision.to,
            decision.epoch,
            `promoteMs=${result.promoteMs ?? 0}`,
            steps,
          );
          await this.deps.health.probeNow(service, decision.to);
          return `promoted ${decision.to} for ${service}, epoch ${decision.epoch}`;
        }
        case 'degrade_async':
          await this.deps.admin.sync(url(decision.region), []);
          await this.deps.health.probeNow(service, decision.region);
          return decision.outcome;
        case 'restore_sync':
          await this.deps.admin.sync(url(decision.region), [decision.standby]);
          await this.deps.health.probeNow(service, decision.region);
          return decision.outcome;
        // decided only on an operator's request, and carried out by switchover.ts
        case 'switchover':
        case 'operator_fence':
        case 'refuse_request':
          return decision.outcome;
      }
    } catch (err) {
      return `${decision.kind} failed: ${(err as Error).message}`;
    }
  }

  /**
   * Every promotion carries the lease (docs/fencing.md, "The lease"): the new primary is leased from the
   * moment it becomes primary, so cut off from us before our first probe reaches it, it still fences
   * itself. The grant is counted before the call leaves (deadline + lease: the cell may take it however
   * late it answers) and lowered to the answer's moment + lease once it answers.
   */
  private async promote(service: ServiceName, region: RegionName, epoch: number) {
    const config = this.deps.services[service]!;
    if (config.policy.leaseMs <= 0) return this.deps.admin.promote(config.cells[region], epoch);
    // wall-clock, like the probes' deadlines: the cell compares it with its own Date.now()
    const sent = Date.now();
    // from now on, for policy.settleMs, every grant of this service carries the settling lease
    this.runtime.get(service)!.lastPromotionAt = sent;
    const leaseMs = this.leaseMsOf(service, sent);
    const deadline = sent + config.policy.adminTimeoutMs;
    const answered = this.deps.health.countPromotionLease(service, region, deadline + leaseMs);
    try {
      const result = await this.deps.admin.promote(config.cells[region], epoch, { ms: leaseMs, deadline });
      answered(Math.min(deadline, Date.now()) + leaseMs);
      return result;
    } catch (err) {
      // A 4xx is the cell refusing the promotion before it changed anything: no lease was taken. Any
      // other failure (a timeout, a 5xx) may come after it was: the grant stays counted.
      if (err instanceof CellAdminError && err.status !== null && err.status >= 400 && err.status < 500)
        answered(Date.now());
      throw err;
    }
  }

  /**
   * A frozen old primary still holds the writes it was sent; thawed, it runs them before our fence can
   * reach it. It refuses each one past its x-request-deadline, so the promotion waits until every write
   * sent to it has either been answered (or refused at connect) or is past its deadline: no write can
   * then land on the old primary after the new one was promoted. A dead primary's writes end at once
   * (refused, reset, or answered 503 by an app whose database is gone), so a crash waits for nothing;
   * the bound is re-read as they end, never slept on.
   *
   * With leases on, a leased primary also refuses every COMMIT past its lease (the cell sets its commit
   * guard to min(deadline, lease) right before COMMIT: services/kit/src/db.ts), and the lease it holds
   * is never later than the bound the prober counts for it. So a write can land no later than that
   * bound either, and the wait ends at min(write deadlines, lease bound), re-read too (a cell that
   * answers again is granted a fresh lease, and the wait then runs to the write deadlines).
   */
  private async waitForAbandonedWrites(service: ServiceName, oldPrimary: RegionName): Promise<number> {
    // Deadlines are wall-clock ms stamped by the proxy, hence Date.now(), not the injected clock.
    const started = Date.now();
    let slept = false;
    for (;;) {
      const until = Math.min(
        this.deps.routes.writesMayLandUntil(service, oldPrimary),
        this.commitsBoundedUntil(service, oldPrimary),
      );
      // strictly past it (the cell refuses when now > deadline); timers may fire a millisecond early
      if (Date.now() > until) break;
      slept = true;
      // woken by the next write that ends (a dead cell's 503s arrive one by one), else re-read at the
      // poll: the lease bound moves without any write ending
      const next = this.deps.routes.writeEnded(service, oldPrimary);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        next.ended,
        new Promise((resolve) => {
          timer = setTimeout(resolve, Math.min(until - Date.now() + 1, WRITES_RECHECK_MS));
        }),
      ]);
      clearTimeout(timer);
      next.cancel();
    }
    // 0 when nothing was pending: a clock tick between two readings is not a wait worth reporting
    return slept ? Date.now() - started : 0;
  }

  /**
   * The latest moment a cell may commit by its lease: every lease a probe or a promotion may have
   * granted it (the prober's bounds). Infinity when leases are off or none was ever counted (the write
   * deadlines alone then bound it).
   */
  private commitsBoundedUntil(service: ServiceName, region: RegionName): number {
    if (this.deps.services[service]!.policy.leaseMs <= 0) return Number.POSITIVE_INFINITY;
    const health = this.deps.health.health(service, region);
    if (health.leaseGrantedUntil === null && health.promotionLeaseUntil === null)
      return Number.POSITIVE_INFINITY;
    return Math.max(health.leaseGrantedUntil ?? 0, health.promotionLeaseUntil ?? 0);
  }

  /**
   * Saves are serialized across services and each starts from the state the previous one left: two
   * services failing over at once (a region loss) must not overwrite each other's new epoch. Changes
   * that arrive while a save is running share the next one (one fsync for a region's worth of epochs).
   */
  private persist(service: ServiceName, primary: RegionName, epoch: number): Promise<void> {
    this.unsaved.set(service, { primary, epoch, updatedAt: new Date(this.deps.clock.now()).toISOString() });
    if (this.nextSave) return this.nextSave;
    const run = this.saving.then(async () => {
      // from here on, new changes wait for the save after this one
      this.nextSave = null;
      const changes = new Map(this.unsaved);
      this.unsaved.clear();
      const next: RouterState = structuredClone(this.state);
      for (const [s, state] of changes) next.services[s] = state;
      await this.deps.store.save(next);
      this.state = next;
      for (const [s, state] of changes) this.deps.metrics.epoch.set({ service: s }, state.epoch);
    });
    this.nextSave = run;
    this.saving = run.catch(() => {});
    return run;
  }

  private emit(
    type: EventType,
    service: ServiceName,
    region: RegionName,
    epoch: number,
    detail?: string,
    steps?: PromotionSteps,
  ): void {
    this.deps.events.record({
      at: new Date(this.deps.clock.now()).toISOString(),
      type,
      service,
      region,
      epoch,
      ...(detail ? { detail } : {}),
      ...(steps ? { steps } : {}),
    });
    this.deps.metrics.events.inc({ service, type });
  }

  private serialized<T>(service: ServiceName, fn: () => Promise<T>): Promise<T> {
    const rt = this.runtime.get(service)!;
    const run = rt.chain.then(fn, fn);
    rt.chain = run.catch(() => {});
    return run;
  }

  /** Operator fence (POST /admin/fence): decided like everything else, carried out in switchover.ts. */
  fence(service: ServiceName, region: RegionName): Promise<{ region: RegionName; epoch: number }> {
    return this.serialized(service, () =>
      runOperatorFence(
        this.ops,
        service,
        this.requested(service, { kind: 'fence', region }, 'operator_fence'),
      ),
    );
  }

  /** Planned, zero-loss switchover (POST /admin/switchover); see runSwitchover. */
  switchover(service: ServiceName, to?: RegionName) {
    return this.serialized(service, () =>
      runSwitchover(this.ops, service, this.requested(service, { kind: 'switchover', to }, 'switchover')),
    );
  }

  /** decide() on an operator's request: the decision to carry out, or 409 with the reason. */
  private requested<K extends 'switchover' | 'operator_fence'>(
    service: ServiceName,
    request: OperatorRequest,
    expected: K,
  ): Extract<Decision, { kind: K }> {
    if (this.activeActive(service)) {
      throw new RouterError(
        'ROUTER_ERR_CONFLICT',
        `${service} is active-active: every region already takes writes, there is nothing to switch over or fence`,
      );
    }
    const decision = decide(this.observe(service), request);
    this.deps.log(`${service}: ${decision.outcome}`);
    if (decision.kind !== expected) {
      const reason = decision.kind === 'refuse_request' ? decision.reason : decision.outcome;
      throw new RouterError('ROUTER_ERR_CONFLICT', reason);
    }
    return decision as Extract<Decision, { kind: K }>;
  }

  status() {
    return controllerStatus(this, this.deps);
  }
}

/** how often a promotion waiting on writes sent to the old primary looks whether they have ended */
const WRITES_RECHECK_MS = 20;

/**
 * Sleeps until `until` (wall-clock ms, like the probe deadlines the lease counts from) has passed;
 * the ms slept. Strictly past it: the cell fences once now > its lease.
 */
async function waitUntilWallClock(until: number | null): Promise<number> {
  if (until === null) return 0;
  const started = Date.now();
  while (Date.now() <= until) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(until - Date.now() + 1, 1_000)));
  }
  return Date.now() - started;
}
