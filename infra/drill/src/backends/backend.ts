// One interface for every way of running the platform, so a drill means the same thing everywhere.
// Two halves: the faults (the contract's registry, by name) and every word the drill exchanges with a
// single cell (its admin API, its Postgres). The router and Prometheus are reached over HTTP on both
// backends; cells only through here.
import type { Fault, RegionName, ServiceName } from '@failover-lab/contracts';

/** Applies and resets the contract's faults; each backend implements every kind. */
export interface FaultInjector {
  /** resolves once the fault has taken hold (processes dead or stopped, containers killed or paused) */
  apply(fault: Fault): Promise<void>;
  /** back to healthy: thaw what was frozen, restore what was killed */
  reset(fault: Fault): Promise<void>;
  status(): Promise<unknown>;
}

/** One request to a cell's app, sent with the admin token (docs/contracts.md, "Cell HTTP surface"). */
export interface CellCall {
  method: 'GET' | 'POST';
  /** path on the cell, starting with `/` (`/admin/state`) */
  path: string;
  body?: unknown;
}

/** The cell's answer. `status` 0 = it did not answer (down, frozen, no container); `error` says why. */
export interface CellAnswer {
  status: number;
  /** parsed JSON, the raw text when it was not JSON, null when empty */
  body: unknown;
  error?: string;
}

export interface CellAccess {
  /** One admin call to a cell's app; never throws for a cell that does not answer (status 0). */
  cellHttp(service: ServiceName, region: RegionName, call: CellCall): Promise<CellAnswer>;
  /** Rows `service` wrote at or after `since`, read straight from that cell's Postgres as `app`. */
  countCellWrites(service: ServiceName, region: RegionName, since: Date): Promise<number>;
  /** The cell's app URL as reachable from this machine, or null when it is not (compose publishes none). */
  cellUrl(service: ServiceName, region: RegionName): string | null;
}

/** A row a restore quarantined, as its file holds it (docs/fencing.md). */
export interface QuarantinedRow {
  service: string;
  table: string;
  key: string;
  file: string;
}

export interface Backend {
  readonly name: 'local' | 'compose';
  readonly faults: FaultInjector;
  readonly cells: CellAccess;
  /** rows restores quarantined since `sinceMs` (absent: the backend keeps no quarantine) */
  quarantined?(sinceMs: number): Promise<QuarantinedRow[]>;
}

/** The cell's answer body as text, for error messages (never carries the token: it is only sent). */
export function describeAnswer(answer: CellAnswer): string {
  if (answer.status === 0) return `no answer${answer.error ? ` (${answer.error})` : ''}`;
  const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  return `${answer.status} ${(text ?? '').slice(0, 200)}`;
}
