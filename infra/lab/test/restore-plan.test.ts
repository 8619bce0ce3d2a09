import { describe, expect, it } from 'vitest';
import { type PgObservation, planRestore, type RestoreObservation } from '../src/restore-plan';

const names = { here: 'dc-b', other: 'dc-a' };
const plan = (
  here: PgObservation,
  other: PgObservation,
  hereOnDisk: RestoreObservation['hereOnDisk'] = null,
) => planRestore({ here, other, hereOnDisk }, names);

describe('planRestore', () => {
  it.each([
    // here       other      on disk     → plan
    ['standby', 'primary', 'standby', { kind: 'keep', as: 'standby' }],
    ['primary', 'standby', 'primary', { kind: 'keep', as: 'primary' }],
    ['primary', 'absent', 'primary', { kind: 'keep', as: 'primary' }],
    ['absent', 'primary', 'standby', { kind: 'rebuild_standby' }],
    ['absent', 'primary', null, { kind: 'rebuild_standby' }],
    // two primaries: this one is the stale one (the other holds the route since the failover)
    ['primary', 'primary', 'primary', { kind: 'rebuild_standby' }],
    ['frozen', 'primary', 'primary', { kind: 'rebuild_standby' }],
    ['absent', 'absent', 'primary', { kind: 'restart_primary' }],
    ['absent', 'standby', 'primary', { kind: 'restart_primary' }],
  ] as const)('%s here, %s there (%s on disk) → %o', (here, other, onDisk, expected) => {
    expect(plan(here, other, onDisk)).toEqual(expected);
  });

  it('never rebuilds or restarts on a node that runs but did not answer (a busy machine, not a dead node)', () => {
    // Seen in CI: one slow isInRecovery() on a healthy login standby made restore kill it and then
    // find no primary to rebuild it from.
    expect(plan('unknown', 'primary', 'standby')).toMatchObject({
      kind: 'refuse',
      reason: /dc-b.*did not answer/,
    });
    expect(plan('standby', 'unknown', 'standby')).toMatchObject({
      kind: 'refuse',
      reason: /dc-a.*did not answer/,
    });
    expect(plan('absent', 'unknown', 'primary')).toMatchObject({ kind: 'refuse' });
  });

  it('refuses while the other region is frozen: it may have been promoted', () => {
    expect(plan('absent', 'frozen', 'primary')).toEqual({
      kind: 'refuse',
      reason: 'dc-a is frozen; thaw it before restoring dc-b',
    });
  });

  it('refuses when there is no primary anywhere to follow and this one was not the primary', () => {
    expect(plan('absent', 'absent', 'standby')).toEqual({
      kind: 'refuse',
      reason: 'no live primary in dc-a to restore dc-b from',
    });
    expect(plan('standby', 'standby', 'standby')).toMatchObject({ kind: 'refuse' });
  });
});
