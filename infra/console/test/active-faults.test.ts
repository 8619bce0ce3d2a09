// "Active faults" lists link faults as the lab reports them, next to dead and frozen processes.
import type { LabStatus } from '@failover-lab/contracts';
import { describe, expect, it } from 'vitest';
import { activeFaults } from '../src/faults';

const lab = (links: NonNullable<LabStatus['edge']['links']>): LabStatus => ({
  subnet: 0,
  stateDir: '/tmp/x',
  supervisor: { pid: 1, uptimeMs: 1 },
  cells: [],
  edge: {
    host: '127.0.0.2',
    router: { state: 'up', url: 'http://127.0.0.2:8080', restarts: 0, pid: 2 },
    prometheus: { state: 'up', url: 'http://127.0.0.2:9090', pid: 3 },
    control: { url: 'http://127.0.0.2:7070' },
    links,
  },
});

describe('activeFaults', () => {
  it('shows every active link fault, and a links process that is down', () => {
    const status = lab({
      state: 'up',
      url: 'http://127.0.0.2:7071',
      pid: 4,
      faults: [
        { kind: 'link_latency', target: { from: 'edge', region: 'dc-a' }, attributes: { latency_ms: 300 } },
        { kind: 'link_partition', target: { from: 'dc-a', region: 'dc-b' }, direction: 'from' },
      ],
    });
    expect(activeFaults(status, null)).toEqual([
      'link: link_latency edge→dc-a direction=to latency_ms=300',
      'link: link_partition dc-a→dc-b direction=from',
    ]);
    expect(
      activeFaults(lab({ state: 'down', url: 'http://127.0.0.2:7071', pid: null, faults: [] }), null),
    ).toEqual(['edge: links down']);
  });
});
