// Local lab backend: the lab supervisor applies the faults (it owns every process; we only ask), and
// the cells are reached directly on their loopback addresses (local-cells.ts).
import type { Fault } from '@failover-lab/contracts';
import type { Backend, CellAccess, FaultInjector } from './backend';
import { type LocalCells, localCellAccess } from './local-cells';

/** The part of the lab's LabClient (docs/contracts.md, "Lab supervisor") the drill uses. */
export interface LabControl {
  status(): Promise<unknown>;
  apply(fault: Fault): Promise<unknown>;
  reset(fault: Fault): Promise<unknown>;
}

export class LocalBackend implements Backend {
  readonly name = 'local' as const;
  readonly faults: FaultInjector;
  readonly cells: CellAccess;

  constructor(lab: LabControl, access: LocalCells) {
    this.faults = {
      apply: async (fault) => void (await lab.apply(fault)),
      reset: async (fault) => void (await lab.reset(fault)),
      status: () => lab.status(),
    };
    this.cells = localCellAccess(access);
  }
}

export type { LocalCells } from './local-cells';
