// decide() for an active-active service (messaging): a table of snapshots and the one decision each
// gets. Nothing here ever promotes or fences: a lost region only leaves the route.

import { describe, expect, it } from 'vitest';
import type { ServiceSnapshot } from '../src/controller/decide';
import { activeRegions, decideActiveActive } from '../src/controller/decide';
import { cell, ready } from './fixtures/snapshots';

const primaryAt = (region: 'dc-a' | 'dc-b', epoch = 3, fenced = false) =>
  ready({ service: 'messaging', region, role: fenced ? 'fenced' : 'primary', epoch, fenced, standbys: [] });

function snapshot(a: ReturnType<typeof cell>, b: ReturnType<typeof cell>): ServiceSnapshot {
  return {
    service: 'messaging',
    mode: 'async',
    at: 1_700_000_000_000,
    primary: 'dc-a',
    epoch: 3,
    cells: { 'dc-a': a, 'dc-b': b },
    policy: { maxFailoverLagBytes: 1_000_000, syncRestoreMaxLagBytes: 64_000, strictSync: false },
  };
}

describe('decideActiveActive(): both regions primaries, no promotion', () => {
  const table: { name: string; s: ServiceSnapshot; kind: string; region?: string; active: string[] }[] = [
    {
      name: 'both serving at our epoch: nothing to do, both in the route',
      s: snapshot(cell('up', primaryAt('dc-a')), cell('up', primaryAt('dc-b'))),
      kind: 'none',
      active: ['dc-a', 'dc-b'],
    },
    {
      name: 'dc-a lost: no failover, no promotion, dc-b alone in the route',
      s: snapshot(cell('down', null), cell('up', primaryAt('dc-b'))),
      kind: 'none',
      active: ['dc-b'],
    },
    {
      name: 'dc-b lost: dc-a alone',
      s: snapshot(cell('up', primaryAt('dc-a')), cell('down', primaryAt('dc-b'))),
      kind: 'none',
      active: ['dc-a'],
    },
    {
      name: 'a merely suspected region keeps its users (one lost probe moves nobody)',
      s: snapshot(cell('suspect', primaryAt('dc-a'), 1), cell('up', primaryAt('dc-b'))),
      kind: 'none',
      active: ['dc-a', 'dc-b'],
    },
    {
      name: 'a region back from a loss starts fenced: claimed at our epoch (not promoted)',
      s: snapshot(cell('up', primaryAt('dc-a', 0, true)), cell('up', primaryAt('dc-b'))),
      kind: 'claim',
      region: 'dc-a',
      active: ['dc-b'],
    },
    {
      name: 'a cell at an older epoch is claimed at ours',
      s: snapshot(cell('up', primaryAt('dc-a')), cell('up', primaryAt('dc-b', 2))),
      kind: 'claim',
      region: 'dc-b',
      active: ['dc-a'],
    },
    {
      name: 'a cell that knows a newer epoch than our state: adopt it (never fence it)',
      s: snapshot(cell('up', primaryAt('dc-a')), cell('up', primaryAt('dc-b', 7))),
      kind: 'adopt',
      active: ['dc-a'],
    },
    {
      name: 'both lost: nothing serves, nothing to promote',
      s: snapshot(cell('down', null), cell('down', null)),
      kind: 'none',
      active: [],
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const d = decideActiveActive(row.s);
      expect(d.kind).toBe(row.kind);
      if (row.region) expect(d).toMatchObject({ region: row.region, epoch: 3 });
      expect(['failover', 'fence']).not.toContain(d.kind);
      expect(activeRegions(row.s)).toEqual(row.active);
    });
  }

  it('says where the lost region’s users went, in one line', () => {
    const d = decideActiveActive(snapshot(cell('down', null), cell('up', primaryAt('dc-b'))));
    expect(d.outcome).toBe('no action: active-active, dc-b serving (dc-a down; its users go to dc-b)');
  });
});
