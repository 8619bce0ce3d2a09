// Active health probes of every cell's /health/ready, one loop per cell, plus re-probe bursts when the
// data plane sees a refused/reset connection or a timeout (a passive signal).
import {
  DEADLINE_HEADER,
  EPOCH_HEADER,
  LEASE_DEADLINE_HEADER,
  LEASE_HEADER,
  type RegionName,
  type ServiceName,
} from '@failover-lab/contracts';
import { Agent, request } from 'undici';
import { readReadiness } from '../cell-types';
import type { ProbeConfig } from '../config';
import {
  applyProbe,
  type CellHealth,
  grantsLease,
  initialHealth,
  isSilent,
  type ProbeResult,
  silentMsOf,
} from './cell-health';
import type { LookupFn } from './name-cache';
import {
  type PostgresVerdict,
  type PostgresWatch,
  type PostgresWatchFn,
  probePostgres,
  watchPostgres,
} from './postgres-probe';

export type PostgresProbeFn = (host: string, port: number, timeoutMs: number) => Promise<PostgresVerdict>;

/** The app's own failure says it (or its database) is gone, not merely slow: worth asking its Postgres now. */
const APP_GONE_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
function appLooksGone(probed: ProbeResult): boolean {
  if (probed.ok) return false;
  if (probed.ready) return !probed.ready.checks.postgres.ok;
  return probed.error !== null && APP_GONE_ERRORS.has(probed.error);
}

export interface ProbeTarget {
  service: ServiceName;
  region: RegionName;
  url: string;
  /** the cell's Postgres, for the liveness probe (default: the cell URL's host, probe.postgresPort) */
  postgres?: { host: string; port: number };
}

/** `headers`: the lease the probe grants (LEASE_HEADER with the epoch and the probe's deadline). */
export type ProbeFn = (
  url: string,
  timeoutMs: number,
  headers?: Record<string, string>,
) => Promise<ProbeResult>;

/**
 * The lease a probe of this service grants: the router's epoch for it and the lease (0: none), the
 * grant's deadline after it is sent (`grantMs`; absent: the probe timeout), how long a promotion of
 * it may run (its deadline is that far after it was sent: the admin timeout), and the longest lease a
 * previous run of the router may have granted (`settleLeaseMs`, policy.settleLeaseMs: it grants that
 * long for a while after each promotion; absent: `leaseMs`).
 */
export type LeaseSource = (service: ServiceName) => {
  epoch: number;
  leaseMs: number;
  grantMs?: number;
  promoteTimeoutMs?: number;
  settleLeaseMs?: number;
} | null;

/**
 * Request grants raise the bound in steps of this much (ms) beyond the grant, so that a busy data plane
 * replaces the cell's health record once per step instead of once per request. Counting more than was
 * granted is safe: a failover waits that much longer.
 */
const REQUEST_GRANT_STEP_MS = 25;

/** A proxied request on its way (Prober.grantRequest): call it once the cell answered or it was given up on. */
export type RequestSettled = (answered: boolean) => void;

export type TransitionListener = (target: ProbeTarget, previous: CellHealth, next: CellHealth) => void;

interface CellLoop {
  target: ProbeTarget;
  health: CellHealth;
  burstRemaining: number;
  wake: (() => void) | null;
  /** asked to probe while a probe was in flight: the next one leaves without the pause */
  wakePending: boolean;
  /** the held connection to the cell's Postgres (watchPostgres), while the prober runs */
  watch: PostgresWatch | null;
  /** the bound of each promotion lease granted and not yet over (countPromotionLease) */
  promotionGrants: Set<{ until: number }>;
  /** `after`: only a probe started at or after this mark (performance.now()) may answer 'up' */
  verdictWaiters: Array<{ after: number; resolve: (status: 'up' | 'down') => void }>;
  probeWaiters: Array<{ after: number; resolve: (health: CellHealth) => void }>;
  /**
   * Probes and proxied requests sent and not yet answered nor given up on, in the order they were sent
   * (the first is the oldest): the passive evidence of a silent cell (isSilent).
   */
  outstanding: Set<{ at: number }>;
  /** when the cell last answered anything, a probe or a proxied request */
  lastAnswerAt: number | null;
  /**
   * when the first of the probes that failed in a row since the cell last answered one was sent: a
   * timed-out probe is still unanswered, and the next one, sent after it, must not hide it
   */
  probeFailingSince: number | null;
}

export function httpProbe(agent: Agent): ProbeFn {
  return async (url, timeoutMs, headers) => {
    const started = performance.now();
    const at = Date.now();
    try {
      const res = await request(`${url}/health/ready`, {
        dispatcher: agent,
        method: 'GET',
        ...(headers ? { headers } : {}),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.body.text();
      const ms = performance.now() - started;
      let ready = null;
      try {
        ready = readReadiness(JSON.parse(text));
      } catch {
        ready = null;
      }
      if (!ready)
        return { ok: false, at, ms, ready: null, error: `unreadable ready body (HTTP ${res.statusCode})` };
      const pgOk = ready.checks.postgres.ok;
      return {
        ok: pgOk,
        at,
        ms,
        ready,
        error: pgOk ? null : `postgres: ${ready.checks.postgres.error ?? 'not ok'}`,
      };
    } catch (err) {
      const e = err as Error & { code?: unknown };
      const ms = performance.now() - started;
      // undici errors carry a string code; AbortSignal.timeout's DOMException a number (23): use its name
      const error = typeof e.code === 'string' ? e.code : (e.name ?? e.message);
      // A timeout noticed far later than it was due means our own event loop was stalled (start-up, GC,
      // a starved CPU): the cell may well have answered in time. Such a probe proves nothing either way.
      const timedOut =
        error === 'TimeoutError' || error === 'UND_ERR_HEADERS_TIMEOUT' || error === 'AbortError';
      const inconclusive = timedOut && ms > timeoutMs + Math.max(100, timeoutMs);
      return { ok: false, at, ms, ready: null, error, ...(inconclusive ? { inconclusive } : {}) };
    }
  };
}

export class Prober {
  private readonly loops = new Map<string, CellLoop>();
  private readonly listeners = new Set<TransitionListener>();
  private readonly resultListeners = new Set<(target: ProbeTarget, health: CellHealth) => void>();
  private running = false;
  private readonly agent: Agent | null;
  private readonly probe: ProbeFn;
  private lease: LeaseSource = () => null;

  constructor(
    targets: ProbeTarget[],
    private readonly config: ProbeConfig,
    probe?: ProbeFn,
    private readonly postgresProbe: PostgresProbeFn = probePostgres,
    /** how cell names become addresses (container mode: the NameCache); default: getaddrinfo per connection */
    lookup?: LookupFn,
    /**
     * Holds a connection to each cell's Postgres and probes the cell the moment it closes
     * (watchPostgres). Default: on, unless the probe is injected (tests); null: off.
     */
    private readonly watch: PostgresWatchFn | null = probe ? null : defaultWatch(lookup),
  ) {
    // A separate dispatcher from the data plane: a frozen cell's stuck proxy sockets never delay a probe.
    this.agent = probe
      ? null
      : new Agent({
          keepAliveTimeout: 10_000,
          connections: 4,
          pipelining: 1,
          ...(lookup ? { connect: { lookup } } : {}),
        });
    this.probe = probe ?? httpProbe(this.agent!);
    const now = Date.now();
    for (const target of targets) {
      this.loops.set(key(target.service, target.region), {
        target,
        health: initialHealth(now),
        burstRemaining: 0,
        promotionGrants: new Set(),
        wake: null,
        wakePending: false,
        watch: null,
        verdictWaiters: [],
        probeWaiters: [],
        outstanding: new Set(),
        lastAnswerAt: null,
        probeFailingSince: null,
      });
    }
  }

  /** From now on every probe grants the lease `source` gives for its service (the controller's epoch). */
  grantLeases(source: LeaseSource, now = Date.now()): void {
    this.lease = source;
    // What a previous run of the router granted is not known (leases are not persisted): count a lease
    // granted by a probe sent right now, or by a promotion sent just before it stopped (the cell may
    // still be running it), so no failover from an unreachable primary comes before it.
    for (const loop of this.loops.values()) {
      const lease = source(loop.target.service);
      if (!lease || lease.leaseMs <= 0) continue;
      const grantMs = Math.max(lease.grantMs ?? 0, this.config.timeoutMs);
      const longest = Math.max(lease.leaseMs, lease.settleLeaseMs ?? 0);
      const until = now + Math.max(grantMs, lease.promoteTimeoutMs ?? 0) + longest;
      loop.health = {
        ...loop.health,
        leaseGrantedUntil: Math.max(loop.health.leaseGrantedUntil ?? 0, until),
      };
    }
  }

  /**
   * A promotion of this cell grants a lease that may run until `until` (its deadline + the lease): counted
   * from now on, before the call leaves. The function it returns lowers the bound to `answered` (the
   * moment the cell answered + the lease: the cell took its lease before it answered) — never below what
   * other grants, probes or promotions, still count.
   */
  countPromotionLease(service: ServiceName, region: RegionName, until: number): (answered: number) => void {
    const loop = this.loop(service, region);
    const grant = { until };
    loop.promotionGrants.add(grant);
    this.updatePromotionBound(loop);
    return (answered) => {
      grant.until = Math.min(grant.until, answered);
      this.updatePromotionBound(loop);
    };
  }

  private updatePromotionBound(loop: CellLoop, now = Date.now()): void {
    let bound: number | null = null;
    for (const grant of loop.promotionGrants) {
      if (grant.until < now) loop.promotionGrants.delete(grant);
      else bound = Math.max(bound ?? 0, grant.until);
    }
    loop.health = { ...loop.health, promotionLeaseUntil: bound };
  }

  /**
   * A proxied request to this cell is about to leave: the lease grant it carries (the same as a probe's:
   * the epoch, the lease and a short grant deadline of its own, LEASE_DEADLINE_HEADER), counted in the
   * cell's bound before it leaves, or null when the cell gets none now (grantsLease: confirmed down, or
   * silent). A flooded primary then renews from the very requests that flood it. `epoch` is the one the
   * request carries (its route's): a grant at another epoch is not attached (the request's epoch header
   * is the cell's fencing token and stays the route's). `settled` is to be called when the cell answered
   * (its response headers) or the request was given up on.
   */
  grantRequest(
    service: ServiceName,
    region: RegionName,
    epoch: number,
    now = Date.now(),
  ): { headers: Record<string, string> | null; settled: RequestSettled } {
    const loop = this.loops.get(key(service, region));
    if (!loop) return { headers: null, settled: () => {} };
    const found = this.grantFor(loop, now);
    const grant = found?.epoch === epoch ? found : null;
    let headers: Record<string, string> | null = null;
    if (grant) {
      headers = {
        [EPOCH_HEADER]: String(grant.epoch),
        [LEASE_HEADER]: String(grant.leaseMs),
        [LEASE_DEADLINE_HEADER]: String(grant.deadline),
      };
      const until = grant.deadline + grant.leaseMs;
      if ((loop.health.leaseGrantedUntil ?? 0) < until)
        loop.health = { ...loop.health, leaseGrantedUntil: until + REQUEST_GRANT_STEP_MS };
    }
    const entry = { at: now };
    loop.outstanding.add(entry);
    return {
      headers,
      settled: (answered) => {
        loop.outstanding.delete(entry);
        if (answered) loop.lastAnswerAt = Date.now();
      },
    };
  }

  /** The grant a probe or request sent now to this cell carries, or null (none from this router now). */
  private grantFor(loop: CellLoop, now: number): { epoch: number; leaseMs: number; deadline: number } | null {
    const leaseFall = Math.min(this.config.leaseFall ?? this.config.fall, this.config.fall);
    const silent = isSilent(this.silence(loop, now), this.config.silenceMs ?? 0);
    if (!grantsLease(loop.health, leaseFall, silent)) return null;
    const lease = this.lease(loop.target.service);
    if (!lease || lease.leaseMs <= 0) return null;
    return {
      epoch: lease.epoch,
      leaseMs: lease.leaseMs,
      deadline: now + (lease.grantMs ?? this.config.timeoutMs),
    };
  }

  private silence(loop: CellLoop, now: number) {
    const oldest = loop.outstanding.values().next();
    const request = oldest.done ? null : oldest.value.at;
    const failing = loop.probeFailingSince;
    return {
      now,
      oldestOutstandingAt:
        request === null ? failing : failing === null ? request : Math.min(request, failing),
      lastAnswerAt: loop.lastAnswerAt,
    };
  }

  onTransition(listener: TransitionListener): void {
    this.listeners.add(listener);
  }

  onResult(listener: (target: ProbeTarget, health: CellHealth) => void): void {
    this.resultListeners.add(listener);
  }

  health(service: ServiceName, region: RegionName): CellHealth {
    return this.loop(service, region).health;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const loop of this.loops.values()) {
      if (this.watch) {
        const { host, port } = this.postgresOf(loop);
        loop.watch = this.watch(host, port, () => this.postgresClosed(loop));
      }
      void this.run(loop);
    }
  }

  private postgresOf(loop: CellLoop): { host: string; port: number } {
    return {
      host: loop.target.postgres?.host ?? new URL(loop.target.url).hostname,
      port: loop.target.postgres?.port ?? this.config.postgresPort,
    };
  }

  /**
   * The held connection to the cell's Postgres was closed: its database may have just died (a killed
   * postmaster's backends all go at once). Probe now, and in a burst like a data-plane signal; the
   * probes decide, by the same rules as ever (a close is not evidence). Nothing to do once it is down.
   */
  private postgresClosed(loop: CellLoop): void {
    if (!this.running || loop.health.status === 'down') return;
    loop.burstRemaining = Math.max(loop.burstRemaining, this.config.fall + 1);
    this.wakeLoop(loop);
  }

  /** Probe now: at once when the loop is pausing, right after the probe in flight otherwise. */
  private wakeLoop(loop: CellLoop): void {
    if (loop.wake) loop.wake();
    else loop.wakePending = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const loop of this.loops.values()) {
      loop.watch?.stop();
      loop.watch = null;
      loop.wake?.();
      for (const w of loop.verdictWaiters.splice(0)) w.resolve(loop.health.status === 'down' ? 'down' : 'up');
      for (const w of loop.probeWaiters.splice(0)) w.resolve(loop.health);
    }
    await this.agent?.close().catch(() => {});
  }

  /** Passive signal from the data plane: probe now and keep probing fast for `fall` rounds. */
  signal(service: ServiceName, region: RegionName): void {
    const loop = this.loop(service, region);
    if (loop.burstRemaining > 0) return;
    loop.burstRemaining = this.config.fall + 1;
    this.wakeLoop(loop);
  }

  /**
   * Re-probe in a burst and resolve with the verdict: 'up' at the first good answer, 'down' once the cell
   * is confirmed down. Used by the data plane to decide between retrying now and waiting for a failover.
   * Only a probe sent after the question may answer 'up': one already in flight may have reached the
   * cell just before it died, and its good answer would send the request back to a dead cell (or hand
   * the client a dying cell's 5xx).
   */
  recheck(service: ServiceName, region: RegionName): Promise<'up' | 'down'> {
    const loop = this.loop(service, region);
    if (loop.health.status === 'down') return Promise.resolve('down');
    const after = performance.now();
    const verdict = new Promise<'up' | 'down'>((resolve) => loop.verdictWaiters.push({ after, resolve }));
    loop.burstRemaining = Math.max(loop.burstRemaining, this.config.fall + 1);
    this.wakeLoop(loop);
    return verdict;
  }

  /** Probe once right away (after a promotion: route on what the cell says, not on what we hope). */
  probeNow(service: ServiceName, region: RegionName): Promise<CellHealth> {
    const loop = this.loop(service, region);
    const after = performance.now();
    const done = new Promise<CellHealth>((resolve) => loop.probeWaiters.push({ after, resolve }));
    loop.wake?.();
    return done;
  }

  private loop(service: ServiceName, region: RegionName): CellLoop {
    const loop = this.loops.get(key(service, region));
    if (!loop) throw new Error(`no probe target ${region}/${service}`);
    return loop;
  }

  private async run(loop: CellLoop): Promise<void> {
    while (this.running) {
      const started = Date.now();
      const startedMark = performance.now();
      // this probe answers every wake so far; one that comes while it is in flight gets the next
      loop.wakePending = false;
      // Once a cell fails, also ask its Postgres directly (in parallel): a dead app with a live database
      // is a crash to be restarted, not a region to fail over.
      const askPostgres = loop.health.consecutiveFailures > 0;
      const pgAddress = this.postgresOf(loop);
      const postgres = () => this.postgresProbe(pgAddress.host, pgAddress.port, this.config.timeoutMs);
      // The grant's deadline is stamped before the probe leaves and the cell renews to that deadline +
      // the lease whenever it reads the probe, so every probe sent counts toward the wait before a
      // failover, answered or not. None once `leaseFall` probes in a row failed or the cell is silent
      // (grantsLease): probing a dead cell with leases would push that wait back forever.
      const grant = this.grantFor(loop, started);
      const deadline = started + this.config.timeoutMs;
      const leaseHeaders = grant
        ? {
            [EPOCH_HEADER]: String(grant.epoch),
            [LEASE_HEADER]: String(grant.leaseMs),
            [DEADLINE_HEADER]: String(deadline),
            [LEASE_DEADLINE_HEADER]: String(grant.deadline),
          }
        : undefined;
      const grantedUntil = grant ? grant.deadline + grant.leaseMs : undefined;
      // Counted before the probe leaves, not when it is answered: the cell may read it (and hold the
      // lease) while we still wait for its answer, and a failover's waits must see it.
      if (grantedUntil !== undefined)
        loop.health = {
          ...loop.health,
          leaseGrantedUntil: Math.max(loop.health.leaseGrantedUntil ?? 0, grantedUntil),
        };
      const outstanding = { at: started };
      loop.outstanding.add(outstanding);
      const [sent, asked] = await Promise.all([
        this.probe(loop.target.url, this.config.timeoutMs, leaseHeaders),
        askPostgres ? postgres() : Promise.resolve(undefined),
      ]);
      // any answer, even a failing one (its Postgres down), ends a silence (isSilent); a probe that got
      // none keeps the cell's silence counted from when it was sent
      loop.outstanding.delete(outstanding);
      if (sent.ready !== null && !sent.inconclusive) {
        loop.lastAnswerAt = Date.now();
        loop.probeFailingSince = null;
      } else if (!sent.inconclusive) loop.probeFailingSince ??= started;
      // a failed probe says how long the cell has been silent (passive confirmation, confirmSilenceMs)
      const silentMs = sent.ok || sent.inconclusive ? undefined : silentMsOf(this.silence(loop, Date.now()));
      const probed: ProbeResult = {
        ...sent,
        ...(grantedUntil !== undefined ? { leaseUntil: grantedUntil } : {}),
        ...(silentMs !== undefined ? { silentMs } : {}),
      };
      // A first failure that looks like a gone process (refused, reset, or the app saying its database
      // is unreachable) asks the Postgres at once: a refusal answers in well under a millisecond, and
      // it is the evidence that lets a dead region be confirmed without waiting for `fall` probes.
      // A timeout does not (a slow link must not be judged faster than `fall` probes allow).
      const postgresVerdict = asked ?? (appLooksGone(probed) ? await postgres() : undefined);
      const result: ProbeResult =
        postgresVerdict === undefined || probed.ok
          ? probed
          : {
              ...probed,
              dataTierAlive: postgresVerdict === 'alive',
              ...(postgresVerdict === 'refused' ? { dataTierGone: true } : {}),
            };
      // Hard evidence on a cell not yet judged down: look again at the burst cadence (once it is down,
      // the regular cadence is enough to see it come back).
      if (result.dataTierGone && loop.health.status !== 'down')
        loop.burstRemaining = Math.max(loop.burstRemaining, this.config.fall + 1);
      if (!this.running) break;
      const previous = loop.health;
      loop.health = applyProbe(previous, result, this.config);
      if (loop.burstRemaining > 0) loop.burstRemaining--;
      for (const listener of this.resultListeners) listener(loop.target, loop.health);
      if (previous.status !== loop.health.status) {
        for (const listener of this.listeners) listener(loop.target, previous, loop.health);
      }
      // Only a probe sent after the request answers it (one in flight may predate a promotion).
      const answered = loop.probeWaiters.filter((w) => w.after <= startedMark);
      loop.probeWaiters = loop.probeWaiters.filter((w) => w.after > startedMark);
      for (const w of answered) w.resolve(loop.health);
      if (loop.health.status === 'down') {
        for (const w of loop.verdictWaiters.splice(0)) w.resolve('down');
      } else if (result.ok) {
        const answered = loop.verdictWaiters.filter((w) => w.after <= startedMark);
        loop.verdictWaiters = loop.verdictWaiters.filter((w) => w.after > startedMark);
        for (const w of answered) w.resolve('up');
      }

      const pause = loop.burstRemaining > 0 ? this.config.burstIntervalMs : this.config.intervalMs;
      const wait = Math.max(0, pause - (Date.now() - started));
      if (wait > 0 && loop.probeWaiters.length === 0 && !loop.wakePending) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          loop.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        loop.wake = null;
      }
    }
  }
}

const key = (service: ServiceName, region: RegionName) => `${service}/${region}`;

/** The held connections' retry after a close or a failed attempt (a dead cell is not hammered). */
const WATCH_RETRY_MS = 1_000;

function defaultWatch(lookup?: LookupFn): PostgresWatchFn {
  return (host, port, onClosed) =>
    watchPostgres(host, port, onClosed, { retryMs: WATCH_RETRY_MS, ...(lookup ? { lookup } : {}) });
}
