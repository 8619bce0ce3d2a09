// region_thaw: SIGCONT what region_freeze stopped; an app that had crashed just before the freeze
// (its restart was held back) starts now. Nothing to undo.
import { hasExited, signalFamily } from '../process';
import { type LabFault, nothingToUndo } from './fault';

export const regionThaw: LabFault = {
  async apply(ctx, target) {
    const { processes } = ctx;
    const frozen = processes.reachedBy({ region: target.region }).filter((m) => m.intent === 'frozen');
    for (const m of frozen) {
      m.intent = 'running';
      if (!hasExited(m.child)) signalFamily(m.child.pid!, 'SIGCONT');
      else if (m.respawn) processes.respawn(m);
    }
    return { affected: frozen.map((m) => m.id) };
  },
  reset: nothingToUndo,
};
