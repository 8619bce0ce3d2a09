// Local lab backend: the lab supervisor does the killing (it owns every process); we only ask. Cells
// listen on their own loopback addresses, so the drill calls their admin API and reads their Postgres
// directly.
import type { ComponentName, RegionName, ServiceName } from '@failover-lab/contracts';
import type { CellAddress } from '@failover-lab/lab';
import { type CellHttp, directCellHttp, findCell } from '../cell-http';
import { type CellWriteCounter, cellWriteCounter } from '../cell-sql';
import type { Backend, CellAnswer, CellCall, FaultTarget } from './backend';

/** The part of the lab's LabClient (docs/contracts.md, "Lab supervisor") the drill uses. */
export interface LabControl {
  status(): Promise<unknown>;
  kill(region: RegionName, options?: { service?: ServiceName; component?: ComponentName }): Promise<unknown>;
  freeze(region: RegionName): Promise<unknown>;
  thaw(region: RegionName): Promise<unknown>;
  restore(region: RegionName): Promise<unknown>;
}

/** Where the lab's cells are and the secrets to talk to them (the lab's secrets.json; never logged). */
export interface LocalCells {
  cells: CellAddress[];
  adminToken: string;
  appPassword: string;
}

export class LocalBackend implements Backend {
  readonly name = 'local' as const;
  private readonly http: CellHttp;
  private readonly counter: CellWriteCounter;

  constructor(
    private readonly lab: LabControl,
    private readonly access: LocalCells,
  ) {
    this.http = directCellHttp(access.cells, access.adminToken);
    this.counter = cellWriteCounter(access.cells, access.appPassword);
  }

  async kill(target: FaultTarget): Promise<void> {
    await this.lab.kill(target.region, {
      ...(target.service ? { service: target.service } : {}),
      ...(target.component ? { component: target.component } : {}),
    });
  }

  async freeze(target: FaultTarget): Promise<void> {
    if (target.service || target.component) throw new Error('the local lab freezes whole regions only');
    await this.lab.freeze(target.region);
  }

  async thaw(target: FaultTarget): Promise<void> {
    if (target.service || target.component) throw new Error('the local lab thaws whole regions only');
    await this.lab.thaw(target.region);
  }

  async restore(region: RegionName): Promise<void> {
    await this.lab.restore(region);
  }

  status(): Promise<unknown> {
    return this.lab.status();
  }

  cellHttp(service: ServiceName, region: RegionName, call: CellCall): Promise<CellAnswer> {
    return this.http(service, region, call);
  }

  countCellWrites(service: ServiceName, region: RegionName, since: Date): Promise<number> {
    return this.counter(service, region, since);
  }

  cellUrl(service: ServiceName, region: RegionName): string {
    return findCell(this.access.cells, service, region).appUrl;
  }
}
