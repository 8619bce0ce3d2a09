// region_kill: SIGKILL every process of the region at once — the fire. Reset: region_restore.
import type { LabFault } from './fault';
import { killReached } from './kill';
import { regionRestore } from './region-restore';

export const regionKill: LabFault = {
  apply: (ctx, target) => killReached(ctx, { region: target.region }),
  reset: (ctx, target) => regionRestore.apply(ctx, { region: target.region }),
};
