// region_freeze: SIGSTOP every process of the region — a hang that keeps its connections open, like a
// partition. Reset: region_thaw.
import { isRunning, isStopped, signalFamily, waitUntil } from '../process';
import type { LabFault } from './fault';
import { regionThaw } from './region-thaw';

export const regionFreeze: LabFault = {
  async apply(ctx, target) {
    const { processes } = ctx;
    const inRegion = processes.reachedBy({ region: target.region });
    const victims = inRegion.filter((m) => processes.alive(m));
    const pids: number[] = [];
    for (const m of victims) {
      processes.settle(m, 'frozen');
      pids.push(...signalFamily(m.child.pid!, 'SIGSTOP'));
    }
    // An app waiting out its restart backoff must not start inside a frozen region: its restart
    // waits for the thaw.
    for (const m of inRegion) if (m.restartTimer && m.intent === 'running') processes.settle(m, 'frozen');
    // kill() returns before the kernel stops the target (one in disk sleep stops when it wakes):
    // answer once every process really is stopped, so callers can rely on it.
    await waitUntil(
      'the region to stop',
      async () => pids.every((p) => isStopped(p) || !isRunning(p)),
      5_000,
      10,
    );
    return { affected: victims.map((m) => m.id) };
  },
  reset: (ctx, target) => regionThaw.apply(ctx, target),
};
