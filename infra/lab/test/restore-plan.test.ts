import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FileStateStore } from '../../router/src/state/state-store';
import type { NodeComponent } from '../src/components';
import { LabPaths } from '../src/paths';
import {
  type ControlPlaneView,
  type PgObservation,
  planRestore,
  planWarmFork,
  type RestoreObservation,
} from '../src/restore-plan';
import { persistedRoute, routerStateFile } from '../src/router-state';
import { makeTempStateDir } from '../src/test-data-tier';

const names = { here: 'dc-b', other: 'dc-a' };
const routeTo = (primary: string, epoch = 2): ControlPlaneView => ({ kind: 'route', primary, epoch });
const plan = (
  here: PgObservation,
  other: PgObservation,
  hereOnDisk: RestoreObservation['hereOnDisk'] = null,
  control: ControlPlaneView = { kind: 'none' },
  timelines: Pick<RestoreObservation, 'hereTimeline' | 'otherTimeline'> = {},
) => planRestore({ here, other, hereOnDisk, control, ...timelines }, names);

describe('planRestore with the router’s route (the control plane decides)', () => {
  it.each([
    // here       other      on disk     router → plan
    ['standby', 'primary', 'standby', 'dc-a', { kind: 'keep', as: 'standby' }],
    ['primary', 'standby', 'primary', 'dc-b', { kind: 'keep', as: 'primary' }],
    ['primary', 'absent', 'primary', 'dc-b', { kind: 'keep', as: 'primary' }],
    // a second primary the router does not route to: the stale one, kept as it is when it is ours
    ['primary', 'primary', 'primary', 'dc-b', { kind: 'keep', as: 'primary' }],
    ['absent', 'primary', 'standby', 'dc-a', { kind: 'rebuild_standby' }],
    ['absent', 'primary', null, 'dc-a', { kind: 'rebuild_standby' }],
    ['primary', 'primary', 'primary', 'dc-a', { kind: 'rebuild_standby' }],
    ['frozen', 'primary', 'primary', 'dc-a', { kind: 'rebuild_standby' }],
    ['absent', 'absent', 'primary', 'dc-b', { kind: 'restart_primary' }],
    ['absent', 'standby', 'primary', 'dc-b', { kind: 'restart_primary' }],
  ] as const)(
    '%s here, %s there (%s on disk), router says %s → %o',
    (here, other, onDisk, primary, expected) => {
      expect(plan(here, other, onDisk, routeTo(primary))).toEqual(expected);
    },
  );

  it('restarts the router’s primary after a thaw, never rebuilds it from the thawed old primary', () => {
    // freeze dc-a → failover to dc-b → thaw dc-a (alive, out of recovery, fenced) → dc-b's Postgres
    // dies → restore dc-b. Deciding from the nodes rebuilt dc-b from dc-a: every write since the
    // failover gone, and two primaries.
    const observed = ['absent', 'primary', 'primary'] as const;
    expect(plan(...observed, { kind: 'none' })).toEqual({ kind: 'rebuild_standby' });
    expect(plan(...observed, routeTo('dc-b'))).toEqual({ kind: 'restart_primary' });
  });

  it('refuses when the router cannot be asked, and says why', () => {
    expect(
      plan('absent', 'primary', 'primary', {
        kind: 'unreachable',
        reason: 'connect ECONNREFUSED 127.41.0.1:8080',
      }),
    ).toEqual({
      kind: 'refuse',
      reason:
        'the router cannot be asked which region is the primary (connect ECONNREFUSED 127.41.0.1:8080); restore decides only from its persisted route',
    });
  });

  it('refuses to rebuild a node whose timeline is newer than its source’s', () => {
    expect(
      plan('primary', 'primary', 'primary', routeTo('dc-a'), { hereTimeline: 3, otherTimeline: 2 }),
    ).toMatchObject({ kind: 'refuse', reason: /dc-b's timeline 3 is newer than dc-a's 2/ });
    expect(
      plan('absent', 'primary', 'primary', routeTo('dc-a'), { hereTimeline: 2, otherTimeline: 2 }),
    ).toEqual({
      kind: 'rebuild_standby',
    });
  });

  it('refuses when the router’s primary is down or a standby: restore that one first', () => {
    expect(plan('absent', 'absent', 'standby', routeTo('dc-a'))).toMatchObject({
      kind: 'refuse',
      reason: /router's primary dc-a \(epoch 2\) is down: restore dc-a first/,
    });
    expect(plan('primary', 'standby', 'primary', routeTo('dc-a'))).toMatchObject({ kind: 'refuse' });
  });

  it('refuses when the router routes here but there is no primary data directory to start', () => {
    expect(plan('absent', 'primary', 'standby', routeTo('dc-b'))).toMatchObject({
      kind: 'refuse',
      reason: /routes to dc-b \(epoch 2\) but its Postgres is down with a standby data directory/,
    });
    expect(plan('standby', 'primary', 'standby', routeTo('dc-b'))).toMatchObject({ kind: 'refuse' });
  });
});

describe('planRestore in a lab without a router (nothing fails over by itself)', () => {
  it.each([
    ['standby', 'primary', 'standby', { kind: 'keep', as: 'standby' }],
    ['primary', 'standby', 'primary', { kind: 'keep', as: 'primary' }],
    ['absent', 'primary', 'standby', { kind: 'rebuild_standby' }],
    ['absent', 'absent', 'primary', { kind: 'restart_primary' }],
  ] as const)('%s here, %s there (%s on disk) → %o', (here, other, onDisk, expected) => {
    expect(plan(here, other, onDisk)).toEqual(expected);
  });

  it('refuses when there is no primary anywhere to follow and this one was not the primary', () => {
    expect(plan('absent', 'absent', 'standby')).toEqual({
      kind: 'refuse',
      reason: 'no live primary in dc-a to restore dc-b from',
    });
  });
});

describe('planRestore on what it cannot see', () => {
  it('never rebuilds or restarts on a node that runs but did not answer (a busy machine, not a dead node)', () => {
    // Seen in CI: one slow isInRecovery() on a healthy login standby made restore kill it and then
    // find no primary to rebuild it from.
    expect(plan('unknown', 'primary', 'standby', routeTo('dc-a'))).toMatchObject({
      kind: 'refuse',
      reason: /dc-b.*did not answer/,
    });
    expect(plan('standby', 'unknown', 'standby', routeTo('dc-a'))).toMatchObject({
      kind: 'refuse',
      reason: /dc-a.*did not answer/,
    });
    expect(plan('absent', 'unknown', 'primary')).toMatchObject({ kind: 'refuse' });
  });

  it('refuses while the other region is frozen: it may have been promoted', () => {
    expect(plan('absent', 'frozen', 'primary', routeTo('dc-b'))).toEqual({
      kind: 'refuse',
      reason: 'dc-a is frozen; thaw it before restoring dc-b',
    });
  });
});

describe('planWarmFork: a warm up finds both data dirs primaries (a failover never restored)', () => {
  const tl = (a: number | null, b: number | null) => ({ 'dc-a': a, 'dc-b': b });
  it.each([
    // control plane          timelines     → kept primary (the other is read, then rebuilt)
    [routeTo('dc-b'), tl(1, 2), 'dc-b'],
    [routeTo('dc-a', 3), tl(3, 2), 'dc-a'],
    // the router decides even where the timelines cannot (a promotion killed before its checkpoint)
    [routeTo('dc-b'), tl(2, 2), 'dc-b'],
    [routeTo('dc-a'), tl(2, 2), 'dc-a'],
    [routeTo('dc-b'), tl(null, 2), 'dc-b'],
    // no router in this lab: the newer timeline
    [{ kind: 'none' }, tl(2, 3), 'dc-b'],
    [{ kind: 'none' }, tl(4, 3), 'dc-a'],
  ] as const)('%o, timelines %o → keeps %s', (control, timelines, primary) => {
    expect(planWarmFork({ control, timelines })).toMatchObject({
      kind: 'keep',
      primary,
      stale: primary === 'dc-a' ? 'dc-b' : 'dc-a',
    });
  });

  it('never rebuilds the router’s stale region from an older timeline, and never guesses', () => {
    // the router's route names dc-a but dc-b holds a newer history: say so, erase nothing
    expect(planWarmFork({ control: routeTo('dc-a', 1), timelines: tl(1, 2) })).toEqual({
      kind: 'refuse',
      reason:
        "both data dirs are primaries (a failover never restored); the router's primary is dc-a (epoch 1), but dc-b's timeline 2 is newer than its 1: rebuilding dc-b from it would erase newer writes",
    });
    expect(
      planWarmFork({ control: { kind: 'unreachable', reason: 'bad entry' }, timelines: tl(1, 2) }),
    ).toMatchObject({ kind: 'refuse', reason: /persisted route cannot be read \(bad entry\)/ });
    expect(planWarmFork({ control: { kind: 'none' }, timelines: tl(2, 2) })).toMatchObject({
      kind: 'refuse',
      reason: /runs no router.*\(2, 2\)/,
    });
    expect(planWarmFork({ control: routeTo('dc-z'), timelines: tl(1, 2) })).toMatchObject({
      kind: 'refuse',
    });
  });

  it('reads the route from the state file the router itself writes, before any router runs', async () => {
    const stateDir = makeTempStateDir('flab-routestate-');
    try {
      const paths = new LabPaths(stateDir);
      const router = { kind: 'router' } as NodeComponent;
      const ctx = { paths, controlPlane: 'edge' as const, components: [router] };
      // no router in this lab: no control plane, whatever files lie around
      expect(persistedRoute({ ...ctx, components: [] })('messaging')).toEqual({ kind: 'none' });
      // no state file yet: what the router will create at its start
      expect(persistedRoute(ctx)('messaging')).toEqual({ kind: 'route', primary: 'dc-a', epoch: 1 });
      const updatedAt = new Date().toISOString();
      await new FileStateStore(routerStateFile(ctx)).save({
        version: 1,
        services: { messaging: { primary: 'dc-b', epoch: 2, updatedAt } },
      });
      expect(persistedRoute(ctx)('messaging')).toEqual({ kind: 'route', primary: 'dc-b', epoch: 2 });
      expect(persistedRoute(ctx)('payments')).toEqual({ kind: 'route', primary: 'dc-a', epoch: 1 });
      // the control plane inside a region keeps its state on that region's disk
      const inside = { ...ctx, controlPlane: 'dc-b' as const };
      mkdirSync(paths.controlPlaneDir('dc-b'), { recursive: true });
      writeFileSync(
        routerStateFile(inside),
        '{"version":1,"services":{"login":{"primary":"dc-q","epoch":0}}}',
      );
      expect(persistedRoute(inside)('login')).toMatchObject({
        kind: 'unreachable',
        reason: expect.stringContaining('router-state.json'),
      });
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
