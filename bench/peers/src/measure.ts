// What the client saw, computed from request records alone (pure: no clock, no I/O), so the same
// figures come out of every system whatever its client library.

export type OpKind = 'write' | 'read';

export interface OpRecord {
  op: OpKind;
  /** wall-clock ms (performance.timeOrigin + performance.now()), like the fault time */
  startMs: number;
  endMs: number;
  ok: boolean;
  /** error code or message class; null when ok */
  error: string | null;
  /** the write's client-made id (the same id on every retry) */
  id?: string;
}

/**
 * Client-observed RTO: fault → the first successful answer to a request that started after the
 * last failed one, i.e. from then on every request succeeds. Measured at the answer, not at the
 * request's start, so a client that queues requests during the outage (ioredis's offline queue, a
 * router holding requests) is not credited with the time it spent waiting. Requests that ended
 * before the fault are ignored. null = still failing (or nothing answered) at the end.
 */
export function recoveryMs(records: readonly OpRecord[], faultMs: number): number | null {
  let pivot = faultMs;
  for (const r of records) {
    if (!r.ok && r.endMs >= faultMs && r.startMs > pivot) pivot = r.startMs;
  }
  // A failure that started before the fault but ended after it still pins the pivot at the fault.
  let firstAnswer = Number.POSITIVE_INFINITY;
  for (const r of records) {
    if (r.ok && r.startMs > pivot && r.endMs < firstAnswer) firstAnswer = r.endMs;
  }
  return Number.isFinite(firstAnswer) ? Math.max(0, firstAnswer - faultMs) : null;
}

/**
 * Longest time after the fault without any successful answer (the gap a user stares at), up to
 * `endMs` when the last success came before the end of the run.
 */
export function longestStallMs(records: readonly OpRecord[], faultMs: number, endMs: number): number {
  const answers = records
    .filter((r) => r.ok && r.endMs >= faultMs)
    .map((r) => r.endMs)
    .sort((a, b) => a - b);
  let previous = faultMs;
  let longest = 0;
  for (const at of answers) {
    longest = Math.max(longest, at - previous);
    previous = at;
  }
  return Math.max(longest, endMs - previous);
}

/** Requests that failed (error, timeout, refusal) and ended at or after the fault. */
export function failedAfterFault(records: readonly OpRecord[], faultMs: number): number {
  return records.filter((r) => !r.ok && r.endMs >= faultMs).length;
}

/** Failed requests by error code, most frequent first. */
export function errorsByCode(records: readonly OpRecord[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const r of records)
    if (!r.ok) counts.set(r.error ?? 'UNKNOWN', (counts.get(r.error ?? 'UNKNOWN') ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export interface WriteAudit {
  acked: number;
  /** acknowledged to the client, absent from the new primary */
  lost: number;
  /** applied more than once (a retry of a write whose answer was lost but which had been applied) */
  duplicated: number;
  /** written although the client never got an acknowledgement (ambiguous, not an error) */
  appliedUnacked: number;
  lostSample: string[];
}

/** Every acknowledged write read back: `applied` is how many times the new primary holds each id. */
export function auditWrites(
  acked: ReadonlySet<string>,
  attempted: ReadonlySet<string>,
  applied: ReadonlyMap<string, number>,
): WriteAudit {
  let lost = 0;
  let duplicated = 0;
  let appliedUnacked = 0;
  const lostSample: string[] = [];
  for (const id of attempted) {
    const times = applied.get(id) ?? 0;
    if (times > 1) duplicated++;
    if (acked.has(id)) {
      if (times === 0) {
        lost++;
        if (lostSample.length < 10) lostSample.push(id);
      }
    } else if (times > 0) appliedUnacked++;
  }
  return { acked: acked.size, lost, duplicated, appliedUnacked, lostSample };
}

// ---- spurious failovers: one failover is the expected answer to the fault; anything more is spurious

export interface SentinelEvent {
  atMs: number;
  /** which sentinel published it (host:port) */
  sentinel: string;
  channel: string;
  message: string;
}

/**
 * Sentinel: each `+try-failover` is one sentinel starting a failover (its own epoch); several of them
 * against the killed master are the normal election. An attempt against any other master, or a
 * second distinct `+switch-master`, is a failover nobody asked for.
 */
export function sentinelSpuriousFailovers(events: readonly SentinelEvent[], killedAddress: string): number {
  const [killedHost, killedPort] = killedAddress.split(':');
  let attemptsOnOthers = 0;
  // Every sentinel publishes the same switch: a switch is a change of the (old → new) pair in time order.
  let switches = 0;
  let lastSwitch = '';
  for (const e of [...events].sort((a, b) => a.atMs - b.atMs)) {
    const words = e.message.split(' ');
    if (e.channel === '+try-failover' && words[0] === 'master') {
      if (words[2] !== killedHost || words[3] !== killedPort) attemptsOnOthers++;
    } else if (e.channel === '+switch-master') {
      const pair = words.slice(1, 5).join(' ');
      if (pair !== lastSwitch) switches++;
      lastSwitch = pair;
    }
  }
  return Math.max(attemptsOnOthers, Math.max(0, switches - 1));
}

export interface PatroniSample {
  atMs: number;
  /** the leader's name in the cluster view, null when there is none */
  leader: string | null;
  /** highest timeline any member reports */
  timeline: number | null;
}

/**
 * Patroni: every promotion starts a new timeline, and every leader change shows in the cluster view.
 * Expected after the fault: one new leader, one new timeline. Extra ones are spurious (a node
 * promoted twice, or the leadership flapping).
 */
export function patroniSpuriousFailovers(samples: readonly PatroniSample[], initialTimeline: number): number {
  let leaderChanges = 0;
  let previous: string | undefined;
  let maxTimeline = initialTimeline;
  for (const s of samples) {
    if (s.leader !== null) {
      if (previous !== undefined && s.leader !== previous) leaderChanges++;
      previous = s.leader;
    }
    if (s.timeline !== null) maxTimeline = Math.max(maxTimeline, s.timeline);
  }
  const promotions = maxTimeline - initialTimeline;
  return Math.max(0, promotions - 1, leaderChanges - 1);
}

/** The project: the router's `promoted` events for the service after the fault, beyond the first. */
export function projectSpuriousFailovers(
  events: readonly { type: string; service: string }[],
  service: string,
) {
  const promoted = events.filter((e) => e.type === 'promoted' && e.service === service).length;
  return Math.max(0, promoted - 1);
}

// ---- summaries over runs

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Median and worst of one figure over runs; a run that never recovered (null) is worse than any
 * number, so it makes the worst null, and the median too when half or more never recovered.
 */
export function medianAndWorst(values: readonly (number | null)[]): {
  median: number | null;
  worst: number | null;
} {
  if (values.length === 0) return { median: null, worst: null };
  const numbers = values.filter((v): v is number => v !== null);
  const missing = values.length - numbers.length;
  const worst = missing > 0 ? null : Math.max(...numbers);
  // nulls sort last: the median is a number only when it falls among the numbers
  const sorted = [...numbers].sort((a, b) => a - b);
  const n = values.length;
  const at = (i: number) => (i < sorted.length ? sorted[i]! : null);
  if (n % 2) return { median: at(Math.floor(n / 2)), worst };
  const lo = at(n / 2 - 1);
  const hi = at(n / 2);
  return { median: lo === null || hi === null ? null : (lo + hi) / 2, worst };
}

/**
 * How many times the project's figure a peer's is: "×30" for 30 s against 1 s. Both 0 → "=" (equal,
 * nothing to divide); a peer above a project 0 → "+N" (an absolute difference: a ratio to 0 means nothing).
 */
export function ratioLabel(peer: number | null, project: number | null): string {
  if (peer === null || project === null) return 'n/a';
  if (project === 0) return peer === 0 ? '=' : `+${formatNumber(peer)}`;
  const ratio = peer / project;
  return `×${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(1)}`;
}

export function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return value >= 100 ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 2);
}
