// The failover policy: one pure function from an immutable snapshot of a service to one decision.
// Everything it knows is in the snapshot; everything it wants done is in the decision (act() does it).
import { otherRegion, REGIONS, type RegionName, type ServiceName } from '@failover-lab/contracts';
import { parseLsn, syncStandbyNamesList } from '../cell-types';
import { type CellHealth, isAnswering } from '../health/cell-health';

export interface ServiceSnapshot {
  readonly service: ServiceName;
  readonly mode: 'sync' | 'async';
  /**
   * the primary names its standby in synchronous_standby_names even if the service is async (login:
   * its revocations wait for the standby). Absent: mode === 'sync'.
   */
  readonly syncStandby?: boolean;
  readonly at: number;
  /** the persisted primary and epoch (the edge's truth) */
  readonly primary: RegionName;
  readonly epoch: number;
  readonly cells: Readonly<Record<RegionName, Readonly<CellHealth>>>;
  /** the router started moments ago: it does not yet trust a "down" verdict enough to fail over */
  readonly inStartupGrace?: boolean;
  /**
   * Sync services running async: the primary's WAL position (walLsn) at the first answer the router
   * saw it so, i.e. just after the degrade. Every commit that was stuck waiting for the standby is at
   * or below it. Absent: not running async, or not tracked (sync then returns on the other rules).
   */
  readonly asyncSinceLsn?: string | null;
  readonly policy: Readonly<{
    maxFailoverLagBytes: number;
    syncRestoreMaxLagBytes: number;
    strictSync: boolean;
    /** sync services: a commit waiting this long for the sync standby means its link is broken */
    syncStallMs?: number;
    /** sync services: restore sync only to a standby that replied within this */
    syncRestoreMaxReplyAgeMs?: number;
    appRestartGraceMs?: number;
    /** fail over only to a standby that has passed every probe for at least this long */
    standbySteadyMs?: number;
  }>;
}

/** What an operator asked for through the admin API (POST /admin/switchover, POST /admin/fence). */
export type OperatorRequest = { kind: 'switchover'; to?: RegionName } | { kind: 'fence'; region: RegionName };

export type Decision =
  | { kind: 'none'; outcome: string }
  /** the persisted primary does not (yet) hold the persisted epoch: promote it with that epoch */
  | { kind: 'claim'; region: RegionName; epoch: number; outcome: string }
  | {
      kind: 'failover';
      from: RegionName;
      to: RegionName;
      epoch: number;
      rpoZero: boolean;
      /** promote only after this (wall-clock ms): every lease the old primary may hold has run out */
      leaseUntil: number | null;
      outcome: string;
    }
  | { kind: 'refuse_failover'; region: RegionName; reason: string; outcome: string }
  | { kind: 'fence'; region: RegionName; epoch: number; outcome: string }
  /** a cell holds a higher epoch than ours (state lost or older than the cells): follow it */
  | { kind: 'adopt'; region: RegionName; epoch: number; outcome: string }
  | { kind: 'degrade_async'; region: RegionName; standby: RegionName; outcome: string }
  | { kind: 'restore_sync'; region: RegionName; standby: RegionName; outcome: string }
  /** planned, zero-loss move of the primary to `to` at `epoch` (switchover.ts carries it out) */
  | { kind: 'switchover'; from: RegionName; to: RegionName; epoch: number; outcome: string }
  /** an operator fences a cell that is not the primary, at the current epoch */
  | { kind: 'operator_fence'; region: RegionName; epoch: number; outcome: string }
  /** an operator's request that the current state does not allow (answered 409 with the reason) */
  | { kind: 'refuse_request'; reason: string; outcome: string };

/** What the data plane should do for this service right now, derived from the same snapshot. */
export interface RouteVerdict {
  /** forward to the primary (it is up or only suspected, and confirmed primary at our epoch) */
  serving: boolean;
  /** a sync service whose primary commits without a synchronous standby */
  rpoGuaranteeSuspended: boolean;
  /** strict sync mode and no synchronous standby: refuse writes */
  refuseWrites: boolean;
}

const standbyOf = (s: ServiceSnapshot): RegionName => otherRegion(s.primary);

/**
 * Some of the service's commits wait for its standby: payments (all of them) and login (its
 * revocations). Losing that standby stalls those commits, so it is degraded or refused like payments',
 * and a failover from a standby in sync is RPO 0 for them.
 */
export function keepsSyncStandby(s: ServiceSnapshot): boolean {
  return s.syncStandby ?? s.mode === 'sync';
}

export function isConfirmedDown(cell: CellHealth): boolean {
  return cell.status === 'down';
}

/** Answering, claiming primary, and not fenced. */
export function claimsPrimary(cell: CellHealth): boolean {
  return isAnswering(cell) && cell.lastReady!.role === 'primary' && !cell.lastReady!.fenced;
}

export function isPrimaryAtEpoch(cell: CellHealth, epoch: number): boolean {
  return claimsPrimary(cell) && cell.lastReady!.epoch === epoch;
}

/** Sync service whose primary's synchronous_standby_names is empty: commits do not wait for anyone. */
export function isRunningAsync(s: ServiceSnapshot): boolean {
  const ready = s.cells[s.primary].lastReady;
  if (!keepsSyncStandby(s) || !ready) return false;
  return syncStandbyNamesList(ready.synchronousStandbyNames).length === 0;
}

/** The standby as seen by the primary at its last answer (pg_stat_replication), if listed. */
function standbyAsSeenByPrimary(s: ServiceSnapshot) {
  const standby = standbyOf(s);
  return s.cells[s.primary].lastReady?.standbys.find((v) => v.name === standby) ?? null;
}

/**
 * The standby's last known lag: the primary's view of it (what was sent but not yet replayed) when the
 * primary listed it; otherwise nothing is known — a standby that is not streaming may be far behind
 * even if it reports no receive/replay gap of its own.
 */
export function lastKnownStandbyLag(s: ServiceSnapshot): number | null {
  const seen = standbyAsSeenByPrimary(s);
  if (!seen) return null;
  const own = s.cells[standbyOf(s)].lastReady?.replicationLagBytes ?? 0;
  return Math.max(seen.lagBytes ?? 0, own);
}

/**
 * The standby was a synchronous standby at the primary's last answer: every acknowledged commit is on
 * it. Not while commits were stuck waiting for it: its row can read sync/streaming long after its
 * WAL receiver was cut off.
 */
export function wasInSync(s: ServiceSnapshot): boolean {
  if (!keepsSyncStandby(s) || isRunningAsync(s) || syncStall(s) !== null) return false;
  const seen = standbyAsSeenByPrimary(s);
  return seen?.syncState === 'sync' && seen.state === 'streaming';
}

// a healthy sync commit takes ~1 ms here; 2 s leaves room for a starved machine (load 20) without
// flapping sync off and on, and bounds how long a cut link stalls payments
const DEFAULT_SYNC_STALL_MS = 2_000;

/**
 * Sync service whose primary has held a commit for the synchronous standby longer than the bound:
 * the standby's app may answer, but its WAL receiver is gone or cut off, and every sync commit hangs
 * (a synchronous commit waits forever: docs/facts.md). The reason, or null.
 */
export function syncStall(s: ServiceSnapshot): string | null {
  if (!keepsSyncStandby(s)) return null;
  const waited = s.cells[s.primary].lastReady?.syncWaitMs;
  const bound = s.policy.syncStallMs ?? DEFAULT_SYNC_STALL_MS;
  if (waited === null || waited === undefined || waited < bound) return null;
  return `a commit waited ${waited} ms for standby ${standbyOf(s)} (its WAL receiver is gone or cut off)`;
}

function canFailOver(s: ServiceSnapshot): { ok: true; rpoZero: boolean } | { ok: false; reason: string } {
  const standby = standbyOf(s);
  const cell = s.cells[standby];
  if (cell.status !== 'up')
    return { ok: false, reason: `standby ${standby} is not healthy (${cell.status})` };
  // Both regions failing probes together points at the observer (a starved router or host), not at
  // the primary: wait until the standby has held steady. A real loss of the primary's region leaves the
  // standby answering throughout, so this costs a real failover nothing.
  const steadyMs = s.policy.standbySteadyMs ?? 0;
  if (cell.lastFailureAt !== null && s.at - cell.lastFailureAt < steadyMs) {
    return {
      ok: false,
      reason: `standby ${standby} failed a probe itself within the last ${steadyMs} ms (both regions unsteady)`,
    };
  }
  const role = cell.lastReady?.role;
  if (role !== 'standby')
    return { ok: false, reason: `${standby} is not in role standby (${role ?? 'unknown'})` };
  if (wasInSync(s)) return { ok: true, rpoZero: true };
  // A sync service not in sync (degraded to async, or its standby's link broken) may have
  // acknowledged writes the standby lacks: no lag bound makes that safe to do automatically. Login
  // (async, its revocations synchronous) falls back to the lag bound below: sign-in must survive a
  // region loss, and a revocation is at risk only if acknowledged while its guarantee was suspended
  // (refusing here left login down after a region kill whenever a slow revocation had degraded it).
  if (s.mode === 'sync') {
    return {
      ok: false,
      reason: `RPO 0 suspended: standby ${standby} was not in sync at the last check and may miss acknowledged writes (fail over by hand)`,
    };
  }
  const lag = lastKnownStandbyLag(s);
  if (lag === null)
    return { ok: false, reason: `standby ${standby} lag unknown (not streaming at last check)` };
  if (lag > s.policy.maxFailoverLagBytes) {
    return {
      ok: false,
      reason: `standby ${standby} lag ${lag} B exceeds bound ${s.policy.maxFailoverLagBytes} B`,
    };
  }
  return { ok: true, rpoZero: false };
}

/**
 * An old primary the router cannot reach may still be alive and writing (a partition, a freeze): it
 * fences itself once its lease runs out, so the promotion waits until every lease a probe or its own
 * promotion may have granted it has. No wait when it is surely gone — its Postgres refused the
 * connection (nothing listens: a dead process, not a slow one) — or when no lease is outstanding.
 */
export function oldPrimaryLeaseUntil(old: CellHealth, at: number): number | null {
  if (old.consecutiveGone > 0) return null;
  // a promotion's lease counts like a probe's (a new primary is leased from the moment it is promoted)
  const granted = Math.max(old.leaseGrantedUntil ?? 0, old.promotionLeaseUntil ?? 0);
  if (granted <= at) return null;
  return granted;
}

function describeHealthy(s: ServiceSnapshot): string {
  const base = `no action: ${s.primary} primary, healthy`;
  if (!keepsSyncStandby(s)) return base;
  if (!isRunningAsync(s)) return base;
  return `${base}, async (RPO guarantee suspended; standby ${standbyOf(s)} ${s.cells[standbyOf(s)].status})`;
}

/**
 * The one decision for a service right now: what the failover policy wants (every tick), or, when an
 * operator asked for something, whether and how to do it.
 */
export function decide(s: ServiceSnapshot, request?: OperatorRequest): Decision {
  if (request) return decideRequest(s, request);
  const primary = s.primary;
  const standby = standbyOf(s);
  const p = s.cells[primary];
  const other = s.cells[standby];

  // 1. Someone else holds a higher epoch: the cells know more than our state; follow, never fight.
  if (claimsPrimary(other) && other.lastReady!.epoch > s.epoch) {
    const epoch = other.lastReady!.epoch;
    return {
      kind: 'adopt',
      region: standby,
      epoch,
      outcome: `adopted ${standby} for ${s.service}, epoch ${epoch}`,
    };
  }
  // 2. A non-primary claiming primary at our epoch or below (the old primary returning): fence it first.
  if (claimsPrimary(other)) {
    return {
      kind: 'fence',
      region: standby,
      epoch: s.epoch,
      outcome: `fenced ${standby} for ${s.service} (claims primary at epoch ${other.lastReady!.epoch}, current ${s.epoch})`,
    };
  }
  // 3. The primary is confirmed down: fail over if the standby can take over.
  if (isConfirmedDown(p)) {
    if (s.inStartupGrace)
      return { kind: 'none', outcome: `no action: ${primary} down, router start-up grace` };
    // The app is gone but its Postgres answers: a crash the supervisor restarts in place, not a lost region.
    if (p.dataTierAlive === true && s.at - p.since < (s.policy.appRestartGraceMs ?? 0)) {
      return {
        kind: 'none',
        outcome: `no action: ${primary} app down but its Postgres answers; waiting for an in-place restart`,
      };
    }
    const verdict = canFailOver(s);
    if (!verdict.ok) {
      return {
        kind: 'refuse_failover',
        region: standby,
        reason: verdict.reason,
        outcome: `no action: ${primary} down, failover refused: ${verdict.reason}`,
      };
    }
    const epoch = s.epoch + 1;
    const leaseUntil = oldPrimaryLeaseUntil(p, s.at);
    return {
      kind: 'failover',
      from: primary,
      to: standby,
      epoch,
      rpoZero: verdict.rpoZero,
      leaseUntil,
      outcome:
        `promote ${standby} for ${s.service}, epoch ${epoch}${verdict.rpoZero ? ' (RPO 0: was in sync)' : ''}` +
        (leaseUntil !== null ? `, once ${primary}'s lease has run out (${leaseUntil - s.at} ms)` : ''),
    };
  }
  if (p.status === 'unknown')
    return { kind: 'none', outcome: `no action: ${primary} primary, not probed yet` };
  // 4. Suspected: wait for `fall` (one failed probe never fails over).
  if (p.status === 'suspect' && !isAnswering(p)) {
    return {
      kind: 'none',
      outcome: `no action: ${primary} suspected (${p.consecutiveFailures} failed probe${p.consecutiveFailures === 1 ? '' : 's'})`,
    };
  }
  // 5. The primary answers but does not hold our epoch (first start, or a promotion cut short): claim it.
  if (
    isAnswering(p) &&
    (p.lastReady!.role !== 'primary' || p.lastReady!.fenced || p.lastReady!.epoch < s.epoch)
  ) {
    return {
      kind: 'claim',
      region: primary,
      epoch: s.epoch,
      outcome: `claimed ${primary} for ${s.service}, epoch ${s.epoch}`,
    };
  }
  // 6. Sync services: never let commits hang on a dead standby; put it back once it has caught up.
  if (keepsSyncStandby(s) && isPrimaryAtEpoch(p, s.epoch)) {
    const async = isRunningAsync(s);
    const lost = async ? null : isConfirmedDown(other) ? `standby ${standby} down` : syncStall(s);
    if (lost !== null) {
      if (s.policy.strictSync) {
        return { kind: 'none', outcome: `no action: sync standby lost (${lost}), writes refused (strict)` };
      }
      return {
        kind: 'degrade_async',
        region: primary,
        standby,
        outcome: `degraded ${s.service} to async on ${primary}: ${lost}`,
      };
    }
    if (async && canRestoreSync(s)) {
      return {
        kind: 'restore_sync',
        region: primary,
        standby,
        outcome: `restored sync for ${s.service}: ${standby} follows ${primary}`,
      };
    }
  }
  return { kind: 'none', outcome: describeHealthy(s) };
}

function refuse(reason: string): Decision {
  return { kind: 'refuse_request', reason, outcome: `request refused: ${reason}` };
}

function decideRequest(s: ServiceSnapshot, request: OperatorRequest): Decision {
  if (request.kind === 'fence') {
    // The current primary cannot be fenced: that would leave the service without one.
    if (request.region === s.primary)
      return refuse(`${request.region} is the primary of ${s.service}; use a switchover`);
    return {
      kind: 'operator_fence',
      region: request.region,
      epoch: s.epoch,
      outcome: `fenced ${request.region} for ${s.service} (operator), epoch ${s.epoch}`,
    };
  }
  const from = s.primary;
  const to = request.to ?? standbyOf(s);
  if (to === from) return refuse(`${to} already is the primary of ${s.service}`);
  const source = s.cells[from];
  const target = s.cells[to];
  // Zero loss needs both: the primary to fence and read the WAL position from, the standby to replay it.
  if (source.status !== 'up' || target.status !== 'up' || target.lastReady?.role !== 'standby') {
    return refuse(
      `switchover needs both cells up and ${to} in role standby (primary ${source.status}, target ${target.status}/${target.lastReady?.role ?? 'unknown'})`,
    );
  }
  const epoch = s.epoch + 1;
  return {
    kind: 'switchover',
    from,
    to,
    epoch,
    outcome: `switch ${s.service} over from ${from} to ${to}, epoch ${epoch}`,
  };
}

/**
 * The standby is healthy, in role standby, streaming from the current primary and caught up, and the
 * link carries WAL now: the standby confirmed flushing past the primary's position at the degrade
 * (asyncSinceLsn). A walsender row keeps reading "streaming", with a recent reply and a small lag, for
 * a while after its link was cut; a flush position past the degrade can only come from a reply sent
 * after WAL crossed the link since, so it is never a stale row (and a link that was never cut shows it
 * as soon as the standby has caught up: no wait at load).
 */
export function canRestoreSync(s: ServiceSnapshot): boolean {
  const standby = s.cells[standbyOf(s)];
  if (standby.status !== 'up' || standby.lastReady?.role !== 'standby') return false;
  const seen = standbyAsSeenByPrimary(s);
  if (seen?.state !== 'streaming') return false;
  if (s.asyncSinceLsn !== undefined && s.asyncSinceLsn !== null) {
    const mark = parseLsn(s.asyncSinceLsn);
    const flushed = parseLsn(seen.flushLsn);
    if (mark !== null && (flushed === null || flushed < mark)) return false;
  }
  const replyAge = seen.replyAgeMs;
  const maxReplyAge = s.policy.syncRestoreMaxReplyAgeMs;
  if (replyAge !== null && replyAge !== undefined && maxReplyAge !== undefined && replyAge > maxReplyAge)
    return false;
  const lag = lastKnownStandbyLag(s);
  return lag !== null && lag <= s.policy.syncRestoreMaxLagBytes;
}

export function routeVerdict(s: ServiceSnapshot): RouteVerdict {
  const p = s.cells[s.primary];
  // A merely suspected primary keeps serving: one lost probe must not fail requests. Its last answer
  // must still show it as the unfenced primary at our epoch.
  const last = p.lastReady;
  const serving =
    (p.status === 'up' || p.status === 'suspect') &&
    last !== null &&
    last.role === 'primary' &&
    !last.fenced &&
    last.epoch === s.epoch;
  const rpoGuaranteeSuspended = keepsSyncStandby(s) && serving && isRunningAsync(s);
  const syncStandbyLost =
    keepsSyncStandby(s) &&
    serving &&
    (rpoGuaranteeSuspended || isConfirmedDown(s.cells[standbyOf(s)]) || syncStall(s) !== null);
  return { serving, rpoGuaranteeSuspended, refuseWrites: s.policy.strictSync && syncStandbyLost };
}

// ── active-active (docs/active-active.md) ──────────────────────────────────────────────────────────
// Both cells are primaries for their own writes. Nothing is ever promoted or fenced for a lost region:
// its users go to the other region, which already has every write the lost one replicated. The only
// decision is to confirm each answering cell at the service's epoch (a cell starts fenced, and a
// restored one comes back so), and the route is every region that serves.

/** The regions whose cell answers as an unfenced primary at the service's epoch, in REGIONS order. */
export function activeRegions(s: ServiceSnapshot): RegionName[] {
  return REGIONS.filter((region) => {
    const cell = s.cells[region];
    const last = cell.lastReady;
    return (
      (cell.status === 'up' || cell.status === 'suspect') &&
      last !== null &&
      last.role === 'primary' &&
      !last.fenced &&
      last.epoch === s.epoch
    );
  });
}

export function decideActiveActive(s: ServiceSnapshot): Decision {
  for (const region of REGIONS) {
    const cell = s.cells[region];
    // a fenced cell answers role 'fenced': what matters is that its Postgres takes writes (no recovery)
    if (!isAnswering(cell) || cell.lastReady!.inRecovery || cell.lastReady!.role === 'standby') continue;
    const { epoch, fenced } = cell.lastReady!;
    // A cell that knows a newer epoch than ours: our state is older than the cells; follow it.
    if (epoch > s.epoch)
      return {
        kind: 'adopt',
        region: s.primary,
        epoch,
        outcome: `adopted epoch ${epoch} for ${s.service} from ${region} (active-active)`,
      };
    if (fenced || epoch < s.epoch)
      return {
        kind: 'claim',
        region,
        epoch: s.epoch,
        outcome: `claimed ${region} for ${s.service}, epoch ${s.epoch} (active-active: no promotion)`,
      };
  }
  const active = activeRegions(s);
  const lost = REGIONS.filter((r) => !active.includes(r));
  if (active.length === 0) return { kind: 'none', outcome: `no action: no region of ${s.service} serves` };
  return {
    kind: 'none',
    outcome:
      lost.length === 0
        ? `no action: active-active, ${active.join(' + ')} serving`
        : `no action: active-active, ${active.join(' + ')} serving (${lost.map((r) => `${r} ${s.cells[r].status}`).join(', ')}; its users go to ${active.join(' + ')})`,
  };
}
