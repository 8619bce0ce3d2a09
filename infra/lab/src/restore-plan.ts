// What `restore <region>` does with one cell, decided from what it observed of both Postgres nodes.
// Pure, so every combination is a row in a table test. The one rule that matters most: a node that
// runs but did not answer is "unknown", never "broken" — a busy machine (a drill at load 6-7) can make
// one query miss its timeout, and rebuilding a healthy standby or, worse, deciding from a guess which
// side is primary, destroys what the restore was asked to protect.

/** A Postgres node as restore sees it. `unknown`: its process runs but it did not answer in time. */
export type PgObservation = 'absent' | 'frozen' | 'unknown' | 'primary' | 'standby';

export type RestorePlan =
  /** the cell is healthy as it is: only its missing Redis / app are started */
  | { kind: 'keep'; as: 'primary' | 'standby' }
  /** a fresh base backup of the other region's primary (this cell is dead, or a second primary) */
  | { kind: 'rebuild_standby' }
  /** no failover happened: this region's data dir is still the primary, start it as it was */
  | { kind: 'restart_primary' }
  | { kind: 'refuse'; reason: string };

export interface RestoreObservation {
  here: PgObservation;
  other: PgObservation;
  /** what this region's data directory says it was, when it has one */
  hereOnDisk: 'primary' | 'standby' | null;
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
  if (o.here === 'primary' && o.other !== 'primary') return { kind: 'keep', as: 'primary' };
  if (o.here === 'standby' && o.other === 'primary') return { kind: 'keep', as: 'standby' };
  if (o.other === 'primary') return { kind: 'rebuild_standby' };
  if (o.here === 'absent' && o.hereOnDisk === 'primary') return { kind: 'restart_primary' };
  return { kind: 'refuse', reason: `no live primary in ${names.other} to restore ${names.here} from` };
}
