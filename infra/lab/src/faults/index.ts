// The lab's implementation of every fault of the contract's registry, by name.
import type { FaultKind } from '@failover-lab/contracts';
import { componentKill } from './component-kill';
import type { LabFault } from './fault';
import { regionFreeze } from './region-freeze';
import { regionKill } from './region-kill';
import { regionRestore } from './region-restore';
import { regionThaw } from './region-thaw';

export const LAB_FAULTS: Readonly<Record<FaultKind, LabFault>> = {
  region_kill: regionKill,
  component_kill: componentKill,
  region_freeze: regionFreeze,
  region_thaw: regionThaw,
  region_restore: regionRestore,
};

export type { LabFault, Outcome } from './fault';
