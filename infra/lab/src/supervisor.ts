// The lab supervisor: owns every lab process (data stores, apps, router, Prometheus). It runs inside
// the detached daemon (daemon.ts); the CLI and LabClient talk to it over HTTP (control-server.ts).
// Each job has its own file: processes.ts (the table, crash restarts), bring-up.ts (up), faults/
// (apply and reset, one file per fault), restore.ts, status.ts.
import {
  type Fault,
  type FaultResult,
  type LabStatus,
  type LinkFaults,
  REPLICATION_MODE,
} from '@failover-lab/contracts';
import { type BringUpOptions, bringUp } from './bring-up';
import type { LabContext } from './context';
import { LAB_FAULTS, type Outcome } from './faults';
import { linksCall } from './faults/link';
import type { LabPaths } from './paths';
import { ProcessTable } from './processes';
import { loadOrCreateSecrets } from './secrets';
import { labStatus } from './status';
import type { Topology } from './topology';

export { ComponentFailure } from './bring-up';

export class Supervisor {
  private readonly ctx: LabContext;
  readonly startedAt = Date.now();

  constructor(paths: LabPaths, topo: Topology, log: (line: string) => void = () => {}) {
    paths.ensureBaseDirs();
    this.ctx = {
      paths,
      topo,
      secrets: loadOrCreateSecrets(paths.secretsFile),
      processes: new ProcessTable(paths, log),
      components: [],
      controlPlane: 'edge',
      replication: { ...REPLICATION_MODE },
      probe: {},
      log,
    };
  }

  /** Brings the whole lab up (apps: false: data tier and Prometheus only). */
  up(opts: BringUpOptions, progress: (line: string) => void): Promise<void> {
    return bringUp(this.ctx, opts, progress);
  }

  apply(fault: Fault): Promise<FaultResult> {
    return this.timed(fault, () => LAB_FAULTS[fault.kind].apply(this.ctx, fault.target, fault));
  }

  reset(fault: Fault): Promise<FaultResult> {
    return this.timed(fault, () => LAB_FAULTS[fault.kind].reset(this.ctx, fault.target, fault));
  }

  /** `lab reset`: every link healthy again (regions are brought back by thaw and restore). */
  async healLinks(): Promise<LinkFaults> {
    return linksCall(this.ctx, '/reset', {});
  }

  status(): Promise<LabStatus> {
    return labStatus(this.ctx, this.startedAt);
  }

  stopAll(): Promise<void> {
    return this.ctx.processes.stopAll();
  }

  private async timed(fault: Fault, work: () => Promise<Outcome>): Promise<FaultResult> {
    const t0 = Date.now();
    const outcome = await work();
    return { fault, ...outcome, ms: Date.now() - t0 };
  }
}
