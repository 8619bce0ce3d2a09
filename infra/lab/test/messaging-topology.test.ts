// The lab's messaging topology is chosen once, at the first `up`, and kept with its state.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveMessagingTopology } from '../src/active-active';
import { LabPaths } from '../src/paths';
import { messagingTopologyFromEnv, serviceTopology, topology } from '../src/topology';

const dirs: string[] = [];
const paths = () => {
  const dir = mkdtempSync(join(tmpdir(), 'flab-topology-'));
  dirs.push(dir);
  return new LabPaths(dir);
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('messaging topology of a lab', () => {
  it('defaults to active-passive and is kept for the next up', () => {
    const p = paths();
    expect(resolveMessagingTopology(p, undefined)).toBe('active-passive');
    expect(resolveMessagingTopology(p, undefined)).toBe('active-passive');
    expect(resolveMessagingTopology(p, 'active-passive')).toBe('active-passive');
  });

  it('is chosen at the first up, and a warm lab refuses the other one', () => {
    const p = paths();
    expect(resolveMessagingTopology(p, 'active-active')).toBe('active-active');
    expect(resolveMessagingTopology(p, undefined)).toBe('active-active');
    expect(() => resolveMessagingTopology(p, 'active-passive')).toThrow(/down --wipe/);
  });

  it('comes from LAB_MESSAGING_TOPOLOGY, checked', () => {
    expect(messagingTopologyFromEnv({})).toBeUndefined();
    expect(messagingTopologyFromEnv({ LAB_MESSAGING_TOPOLOGY: 'active-active' })).toBe('active-active');
    expect(() => messagingTopologyFromEnv({ LAB_MESSAGING_TOPOLOGY: 'both' })).toThrow(
      /LAB_MESSAGING_TOPOLOGY/,
    );
  });

  it('is messaging’s only: the other services stay active-passive', () => {
    const topo = topology(0, undefined, 'active-active');
    expect(serviceTopology(topo, 'messaging')).toBe('active-active');
    expect(serviceTopology(topo, 'payments')).toBe('active-passive');
    expect(serviceTopology(topology(0), 'messaging')).toBe('active-passive');
  });
});
