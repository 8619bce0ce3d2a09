// component_kill: SIGKILL one service's cell, or one component of it (or of every cell of the region).
// An app alone is a crash, restarted in place; anything else stays dead. Reset: region_restore.
import type { LabFault } from './fault';
import { killReached } from './kill';
import { regionRestore } from './region-restore';

export const componentKill: LabFault = {
  apply: killReached,
  reset: (ctx, target) => regionRestore.apply(ctx, { region: target.region }),
};
