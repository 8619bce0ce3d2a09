// What every part of the supervisor works on: where the lab lives, its secrets, its processes, and
// which apps it runs.
import type { ControlPlanePlacement, ProbeConfig, RegionName, ServiceName } from '@failover-lab/contracts';
import { type CellNodes, cellNodes } from './cell-nodes';
import type { NodeComponent } from './components';
import type { LabPaths } from './paths';
import type { ProcessTable } from './processes';
import type { ReplicationModes } from './replication';
import type { LabSecrets } from './secrets';
import { serviceTopology, type Topology } from './topology';

export interface LabContext {
  readonly paths: LabPaths;
  readonly topo: Topology;
  readonly secrets: LabSecrets;
  readonly processes: ProcessTable;
  /** the apps and the router this lab runs: all of them, or none (a data-tier-only lab) */
  components: NodeComponent[];
  /** where the router and Prometheus run (set at `up`): the edge, or inside a region that dies with them */
  controlPlane: ControlPlanePlacement;
  /** how each service replicates in this lab (set at `up`; the contract's REPLICATION_MODE by default) */
  replication: ReplicationModes;
  /** the router's probe knobs in this lab (empty: the router's defaults) */
  probe: Partial<ProbeConfig>;
  readonly log: (line: string) => void;
}

export function cellOf(
  ctx: Pick<LabContext, 'paths' | 'topo' | 'secrets'>,
  service: ServiceName,
  region: RegionName,
): CellNodes {
  const nodes = cellNodes(ctx.paths, ctx.topo.subnet, ctx.topo.ports, service, region, ctx.secrets);
  // active-active: the cells replicate to each other by logical replication (docs/active-active.md)
  if (serviceTopology(ctx.topo, service) === 'active-active') nodes.postgres.walLevel = 'logical';
  return nodes;
}
