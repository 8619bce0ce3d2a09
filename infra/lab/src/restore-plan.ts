// What `restore <region>` does with one cell, decided from what it observed of both Postgres nodes
// and from what the control plane says. Pure, so every combination is a row in a table test.
//
// Two rules matter most:
// - Which region is the primary is the router's persisted route and epoch (docs/architecture.md,
//   "The edge owns the truth"), never "the other Postgres runs and is not in recovery": after a
//   freeze, a failover and a thaw, the old primary is alive and out of recovery too, and rebuilding
//   the newer region from it deletes every write made since the failover. A lab whose router cannot
//   be asked refuses and says why; only a lab that runs no router at all (a data-tier-only lab, where
//   nothing fails over by itself) falls back to what the nodes say.
// - A node that runs but did not answer is "unknown", never "broken": a busy machine (a drill at
//   load 6-7) can make one query miss its timeout, and rebuilding a healthy standby or guessing which
//   side is primary destroys what the restore was asked to protect.

import { otherRegion, REGIONS, type RegionName } from '@failover-lab/contracts';

/** A Postgres node as restore sees it. `unknown`: its process runs but it did not answer in time. */
export type PgObservation = 'absent' | 'frozen' | 'unknown' | 'primary' | 'standby';

export type RestorePlan =
  /** the cell is healthy as it is: only its missing Redis / app are started */
  | { kind: 'keep'; as: 'primary' | 'standby' }
  /** a fresh base backup of the other region's primary (this cell is dead, or a stale primary) */
  | { kind: 'rebuild_standby' }
  /** this region's data dir is the primary (the router routes here, or no failover happened) */
  | { kind: 'restart_primary' }
  | { kind: 'refuse'; reason: string };

/** The control plane's answer for the cell's service. */
export type ControlPlaneView =
  /** the router's persisted primary and epoch */
  | { kind: 'route'; primary: string; epoch: number }
  /** the lab runs no router: nothing fails over by itself, the nodes are all there is */
  | { kind: 'none' }
  /** the lab runs a router that did not answer */
  | { kind: 'unreachable'; reason: string };

export interface RestoreObservation {
  here: PgObservation;
  other: PgObservation;
  /** what this region's data directory says it was, when it has one */
  hereOnDisk: 'primary' | 'standby' | null;
  control: ControlPlaneView;
  /** each data directory's timeline (pg_controldata), when it has one */
  hereTimeline?: number | null;
  otherTimeline?: number | null;
}

export function planRestore(o: RestoreObservation, names: { here: string; other: string }): RestorePlan {
  if (o.other === 'frozen') {
    return { kind: 'refuse', reason: `${names.other} is frozen; thaw it before restoring ${names.here}` };
  }
  if (o.other === 'unknown') {
    return {
      kind: 'refuse',
      reason: `${names.other}'s Postgres runs but did not answer: cannot tell whether it is the primary; try again`,
    };
  }
  if (o.here === 'unknown') {
    return {
      kind: 'refuse',
      reason: `${names.here}'s Postgres runs but did not answer: cannot tell whether it is healthy; try again`,
    };
  }
  const { control } = o;
  if (control.kind === 'unreachable') {
    return {
      kind: 'refuse',
      reason: `the router cannot be asked which region is the primary (${control.reason}); restore decides only from its persisted route`,
    };
  }
  if (control.kind === 'none') return planFromNodes(o, names);

  const at = `epoch ${control.epoch}`;
  if (control.primary === names.here) {
    if (o.here === 'primary') return { kind: 'keep', as: 'primary' };
    if (o.here === 'absent' && o.hereOnDisk === 'primary') return { kind: 'restart_primary' };
    return {
      kind: 'refuse',
      reason: `the router routes to ${names.here} (${at}) but its Postgres is ${o.here === 'absent' ? `down with a ${o.hereOnDisk ?? 'missing'} data directory` : 'a standby'}: nothing here to restart as the primary`,
    };
  }
  if (control.primary !== names.other) {
    return {
      kind: 'refuse',
      reason: `the router names ${control.primary} as the primary, neither of this cell's regions`,
    };
  }
  if (o.other !== 'primary') {
    return {
      kind: 'refuse',
      reason: `the router's primary ${names.other} (${at}) is ${o.other === 'absent' ? 'down' : 'in recovery'}: restore ${names.other} first`,
    };
  }
  if (o.here === 'standby') return { kind: 'keep', as: 'standby' };
  if (o.hereTimeline != null && o.otherTimeline != null && o.hereTimeline > o.otherTimeline) {
    return {
      kind: 'refuse',
      reason: `${names.here}'s timeline ${o.hereTimeline} is newer than ${names.other}'s ${o.otherTimeline}: rebuilding it from ${names.other} would erase newer writes`,
    };
  }
  // here is down, or a second primary the router does not route to (a fenced old primary)
  return { kind: 'rebuild_standby' };
}

/** A lab without a router: the nodes are all there is (no failover happens by itself). */
function planFromNodes(o: RestoreObservation, names: { here: string; other: string }): RestorePlan {
  if (o.here === 'primary' && o.other !== 'primary') return { kind: 'keep', as: 'primary' };
  if (o.here === 'standby' && o.other === 'primary') return { kind: 'keep', as: 'standby' };
  if (o.other === 'primary') return { kind: 'rebuild_standby' };
  if (o.here === 'absent' && o.hereOnDisk === 'primary') return { kind: 'restart_primary' };
  return { kind: 'refuse', reason: `no live primary in ${names.other} to restore ${names.here} from` };
}

/**
 * A warm `up` of a cell whose two data dirs both say primary: a failover happened and the old primary
 * was never restored. Which one the cell keeps as its primary is the router's persisted route (read
 * from its state file: no router runs yet), never "the newer one" alone; the other is the stale one,
 * read privately and rebuilt as its standby. As for restore, a stale node on a newer timeline than
 * the one it would be rebuilt from is refused, and a lab without a router follows the timelines.
 */
export type WarmForkPlan =
  | { kind: 'keep'; primary: RegionName; stale: RegionName; why: string }
  | { kind: 'refuse'; reason: string };

export function planWarmFork(o: {
  control: ControlPlaneView;
  timelines: Record<RegionName, number | null>;
}): WarmForkPlan {
  const { control, timelines } = o;
  const both = `both data dirs are primaries (a failover never restored)`;
  if (control.kind === 'unreachable') {
    return {
      kind: 'refuse',
      reason: `${both} and the router's persisted route cannot be read (${control.reason}): \`lab up\` decides only from it`,
    };
  }
  if (control.kind === 'route') {
    if (!(REGIONS as readonly string[]).includes(control.primary)) {
      return { kind: 'refuse', reason: `${both} and the router names ${control.primary}, neither region` };
    }
    const primary = control.primary as RegionName;
    const stale = otherRegion(primary);
    const [mine, theirs] = [timelines[primary], timelines[stale]];
    if (mine != null && theirs != null && theirs > mine) {
      return {
        kind: 'refuse',
        reason: `${both}; the router's primary is ${primary} (epoch ${control.epoch}), but ${stale}'s timeline ${theirs} is newer than its ${mine}: rebuilding ${stale} from it would erase newer writes`,
      };
    }
    return { kind: 'keep', primary, stale, why: `the router's, epoch ${control.epoch}` };
  }
  const [a, b] = [timelines['dc-a'], timelines['dc-b']];
  if (a == null || b == null || a === b) {
    return {
      kind: 'refuse',
      reason: `${both}, this lab runs no router, and their timelines (${a ?? '?'}, ${b ?? '?'}) do not say which is newer`,
    };
  }
  const primary: RegionName = b > a ? 'dc-b' : 'dc-a';
  return { kind: 'keep', primary, stale: otherRegion(primary), why: `newer timeline ${Math.max(a, b)}` };
}
