// region_restore: bring a dead or fenced region back as standby of the current primaries (restore.ts
// says how, cell by cell). Nothing to undo.
import { restoreRegion } from '../restore';
import { type LabFault, nothingToUndo } from './fault';

export const regionRestore: LabFault = {
  apply: async (ctx, target) => ({ affected: [], roles: await restoreRegion(ctx, target.region) }),
  reset: nothingToUndo,
};
