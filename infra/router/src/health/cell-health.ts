// The health of one cell as the router sees it, advanced one probe result at a time.
// Pure: the prober owns the timers, this file owns the rules (fall/rise, suspicion).
import type { CellReadiness } from '@failover-lab/contracts';

/**
 * unknown: no verdict yet (router just started).
 * up: answering, its Postgres answering.
 * suspect: at least one failed probe since it was up, fewer than `fall` in a row (still routed to).
 * down: `fall` failed probes in a row (confirmed); needs `rise` good ones to come back.
 */
export type HealthStatus = 'unknown' | 'up' | 'suspect' | 'down';

export interface ProbeResult {
  /** answered in time and its Postgres check is ok (a Redis-only failure does not fail the probe) */
  ok: boolean;
  at: number;
  ms: number;
  ready: CellReadiness | null;
  error: string | null;
  /** the router itself was too slow to judge (its timer fired late): counts neither way */
  inconclusive?: boolean;
  /**
   * The probe granted a lease (it carried the epoch and the lease): the latest moment that lease can
   * run out, its deadline + the lease, whether or not it was answered (an unanswered probe may still
   * have reached the cell in time).
   */
  leaseUntil?: number;
  /** app unreachable: did the cell's Postgres answer a protocol probe? (checked from the 2nd failure on) */
  dataTierAlive?: boolean;
  /**
   * Hard evidence: the app failed and the cell's Postgres refused the connection (nothing listens
   * there). A slow or frozen process cannot produce it; only a gone one can.
   */
  dataTierGone?: boolean;
  /**
   * How long the cell had answered nothing at all (no probe, no proxied request) while something waited
   * for it, when this result came in (Prober, isSilent's measure); absent: not measured. Passive
   * confirmation reads it (HealthRules.confirmSilenceMs).
   */
  silentMs?: number;
}

export interface CellHealth {
  status: HealthStatus;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /**
   * The body of the last good probe (its Postgres answering). A failed probe's body is not kept: with
   * its database gone a cell reports no standbys and no sync state, and the controller must decide on
   * what the primary last said while it was healthy (lag, sync standby).
   */
  lastReady: CellReadiness | null;
  lastReadyAt: number | null;
  lastProbeMs: number | null;
  lastError: string | null;
  /** when `status` last changed */
  since: number;
  /** when it last failed a (conclusive) probe; null: never */
  lastFailureAt: number | null;
  /** the first failed probe of the current run of failures; null while the last probe answered */
  failingSince: number | null;
  /** failed probes in a row that carried hard evidence (ProbeResult.dataTierGone) */
  consecutiveGone: number;
  /**
   * Is the cell's Postgres alive? true when the app says so or, with the app unreachable, when the
   * Postgres itself answers; false when the app reports it down or it does not answer; null: not known.
   */
  dataTierAlive: boolean | null;
  /** the latest moment a lease granted by any probe sent to this cell can run out; null: none granted */
  leaseGrantedUntil: number | null;
  /**
   * The same for the leases promotions of this cell granted (Prober.countPromotionLease): the deadline
   * + the lease while a promotion is unanswered, the answer's moment + the lease once answered. Kept
   * apart from the probes' bound because the answer lowers it.
   */
  promotionLeaseUntil: number | null;
}

export function initialHealth(now: number): CellHealth {
  return {
    status: 'unknown',
    consecutiveFailures: 0,
    consecutiveSuccesses: 0,
    lastReady: null,
    lastReadyAt: null,
    lastProbeMs: null,
    lastError: null,
    since: now,
    lastFailureAt: null,
    failingSince: null,
    consecutiveGone: 0,
    dataTierAlive: null,
    leaseGrantedUntil: null,
    promotionLeaseUntil: null,
  };
}

export interface HealthRules {
  fall: number;
  rise: number;
  /** failed probes in a row with hard evidence (dataTierGone) that confirm a cell down; absent: `fall` */
  hardFall?: number;
  /**
   * Passive confirmation: `confirmFall` failed probes in a row (capped at `fall`) confirm a cell down when
   * it has answered nothing for `confirmSilenceMs` (ProbeResult.silentMs). Absent or 0: off.
   */
  confirmSilenceMs?: number;
  confirmFall?: number;
}

/**
 * A cell that is not merely slow but silent: `confirmFall` probes failed in a row and nothing it was
 * sent — probe or proxied request — has been answered for `confirmSilenceMs`. A frozen region answers
 * nothing from the moment it froze; an edge-link outage shorter than confirmSilenceMs, or a latency
 * spike, delivers the answers late but delivers them, and a flooded cell answers something every few ms.
 */
export function isSilentlyDown(failures: number, silentMs: number | undefined, rules: HealthRules): boolean {
  const silence = rules.confirmSilenceMs ?? 0;
  if (silence <= 0 || silentMs === undefined || silentMs < silence) return false;
  return failures >= Math.min(rules.confirmFall ?? 2, rules.fall);
}

export function applyProbe(health: CellHealth, result: ProbeResult, rules: HealthRules): CellHealth {
  const leaseGrantedUntil =
    result.leaseUntil === undefined
      ? health.leaseGrantedUntil
      : Math.max(health.leaseGrantedUntil ?? 0, result.leaseUntil);
  if (result.inconclusive)
    return {
      ...health,
      leaseGrantedUntil,
      lastProbeMs: result.ms,
      lastError: `${result.error} (inconclusive)`,
    };
  const next: CellHealth = {
    ...health,
    leaseGrantedUntil,
    lastProbeMs: result.ms,
    lastError: result.error,
    lastReady: result.ok && result.ready ? result.ready : health.lastReady,
    lastReadyAt: result.ok && result.ready ? result.at : health.lastReadyAt,
    // A just-restarted app answers before its own Postgres check passes: when the router's direct probe
    // of that Postgres answers, the data tier is alive whatever the app says (seen under docker compose,
    // where it turned an app crash into a failover).
    dataTierAlive: result.ok
      ? true
      : result.ready
        ? result.ready.checks.postgres.ok || result.dataTierAlive === true
        : (result.dataTierAlive ?? (health.consecutiveFailures > 0 ? health.dataTierAlive : null)),
  };
  if (result.ok) {
    next.consecutiveSuccesses = health.consecutiveSuccesses + 1;
    next.consecutiveFailures = 0;
    next.failingSince = null;
    next.consecutiveGone = 0;
    const risen = next.consecutiveSuccesses >= rules.rise;
    // A router that just started trusts the first good answer: it must route quickly after a restart.
    if (health.status === 'unknown' || ((health.status === 'suspect' || health.status === 'down') && risen)) {
      next.status = 'up';
    }
  } else {
    next.lastFailureAt = result.at;
    next.failingSince = health.consecutiveFailures === 0 ? result.at : health.failingSince;
    next.consecutiveFailures = health.consecutiveFailures + 1;
    next.consecutiveSuccesses = 0;
    next.consecutiveGone = result.dataTierGone ? health.consecutiveGone + 1 : 0;
    // Slowness needs `fall` failures; a process that is gone needs only `hardFall` proofs of it, and a
    // silent one `confirmFall` failures with nothing answered for `confirmSilenceMs`.
    if (
      next.consecutiveFailures >= rules.fall ||
      next.consecutiveGone >= (rules.hardFall ?? rules.fall) ||
      isSilentlyDown(next.consecutiveFailures, result.silentMs, rules)
    )
      next.status = 'down';
    else if (health.status === 'up') next.status = 'suspect';
  }
  if (next.status !== health.status) next.since = result.at;
  return next;
}

/**
 * Does the next probe to this cell grant a lease? Yes until the cell is confirmed down: a suspected
 * primary that is merely slow (a starved machine, a probe read past its deadline) must keep its lease,
 * or it fences itself while the router still routes to it and would have to be claimed back. Once it is
 * confirmed down the probes that keep going to it grant none, so the bound a failover waits out
 * (`leaseGrantedUntil`) stops at the probe that confirmed it instead of moving on with every retry;
 * a confirmed-down cell that answers again is granted one again from its next probe.
 *
 * `leaseFall` (probe.leaseFall, capped at `fall` by the caller) stops the grants earlier: after that
 * many failed probes in a row. With 2 and fall 3, the probe that would confirm a frozen cell down
 * carries none, so the failover waits the lease after the probe before it (one probe timeout sooner).
 * A slow cell loses nothing by it until it has failed that many in a row, and its lease still runs from
 * the last probe that granted one.
 *
 * `silent` (isSilent): the cell has answered nothing for probe.silenceMs while something waited for it —
 * no grant until it answers again, so the bound stops moving at ~freeze + silenceMs.
 */
export function grantsLease(health: CellHealth, leaseFall?: number, silent = false): boolean {
  if (silent) return false;
  if (leaseFall !== undefined && health.consecutiveFailures >= leaseFall) return false;
  return health.status !== 'down' || health.consecutiveFailures === 0;
}

/** What the router last heard from a cell, for isSilent (Prober keeps it per cell). */
export interface CellSilence {
  now: number;
  /** when the oldest probe or proxied request still waiting for the cell's answer was sent; null: none */
  oldestOutstandingAt: number | null;
  /** when the cell last answered a probe or a proxied request; null: never */
  lastAnswerAt: number | null;
}

/**
 * Passive suspicion (probe.silenceMs): the cell has answered nothing for `silenceMs` although a probe or
 * a request has waited for it at least as long. A frozen process answers nothing from the moment it
 * froze, so the grants stop ~silenceMs after it; a busy one still answers something now and then (a
 * flooded primary answers its requests one after another), and a latency spike delays the answers
 * without stopping them, so neither is silent for longer than the spike. Nothing outstanding: an idle
 * cell is not silent, whatever its last answer. 0: off.
 */
export function isSilent(s: CellSilence, silenceMs: number): boolean {
  return silenceMs > 0 && s.oldestOutstandingAt !== null && silentMsOf(s) >= silenceMs;
}

/**
 * How long the cell has answered nothing while something waited for it: since the later of the
 * oldest unanswered probe or request and the last answer; 0 when nothing waits.
 */
export function silentMsOf(s: CellSilence): number {
  if (s.oldestOutstandingAt === null) return 0;
  return Math.max(0, s.now - Math.max(s.oldestOutstandingAt, s.lastAnswerAt ?? Number.NEGATIVE_INFINITY));
}

/** Reachable now: the last probe answered (even if the cell is still suspected or rising from down). */
export function isAnswering(health: CellHealth): boolean {
  return health.consecutiveSuccesses > 0 && health.lastReady !== null;
}
