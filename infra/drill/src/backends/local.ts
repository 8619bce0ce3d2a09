// Local lab backend: the lab supervisor applies the faults (it owns every process; we only ask), and
// the cells are reached directly on their loopback addresses (local-cells.ts).
import { readFile, stat } from 'node:fs/promises';
import type { Fault } from '@failover-lab/contracts';
import type { Backend, CellAccess, FaultInjector, QuarantinedRow } from './backend';
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
  private readonly lab: LabControl;

  constructor(lab: LabControl, access: LocalCells) {
    this.lab = lab;
    this.faults = {
      apply: async (fault) => void (await lab.apply(fault)),
      reset: async (fault) => void (await lab.reset(fault)),
      status: () => lab.status(),
    };
    this.cells = localCellAccess(access);
  }

  /** The lab's quarantine files (`lab status` lists them) written since `sinceMs`, row by row. */
  async quarantined(sinceMs: number): Promise<QuarantinedRow[]> {
    const status = (await this.lab.status()) as { quarantine?: { file: string }[] };
    const rows: QuarantinedRow[] = [];
    for (const { file } of status.quarantine ?? []) {
      if ((await stat(file)).mtimeMs < sinceMs) continue;
      for (const line of (await readFile(file, 'utf8')).split('\n')) {
        if (line.trim() === '') continue;
        const { service, table, key } = JSON.parse(line) as Omit<QuarantinedRow, 'file'>;
        rows.push({ service: String(service), table: String(table), key: String(key), file });
      }
    }
    return rows;
  }
}

export type { LocalCells } from './local-cells';
