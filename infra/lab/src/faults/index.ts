// The lab's implementation of every fault of the contract's registry, by name.
import type { FaultKind } from '@failover-lab/contracts';
import { componentKill } from './component-kill';
import type { LabFault } from './fault';
import { linkFault } from './link';
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
  // one plug-in for the six: the links process applies each by name (infra/links)
  link_latency: linkFault,
  link_bandwidth: linkFault,
  link_loss: linkFault,
  link_partition: linkFault,
  link_reset: linkFault,
  link_heal: linkFault,
};

export type { LabFault, Outcome } from './fault';
