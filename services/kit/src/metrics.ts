// prom-client metrics, one Registry per app (tests build several apps in one process).
// Every series carries service and region through default labels (docs/contracts.md, Metrics).
import client from 'prom-client';
import type { CellState } from './cell-state';

export interface CellMetrics {
  registry: client.Registry;
  httpDuration: client.Histogram<'method' | 'route' | 'status_code'>;
  counter<L extends string>(name: string, help: string, labelNames: L[]): client.Counter<L>;
  gauge<L extends string>(name: string, help: string, labelNames: L[]): client.Gauge<L>;
  histogram<L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    buckets?: number[],
  ): client.Histogram<L>;
}

export function createMetrics(cell: CellState): CellMetrics {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service: cell.service, region: cell.region });
  const registers = [registry];

  const httpDuration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  new client.Gauge({
    name: 'cell_role',
    help: '1 for the role this cell currently has (primary, standby, fenced), 0 for the others',
    labelNames: ['role'] as const,
    registers,
    collect() {
      const role = cell.role();
      for (const r of ['primary', 'standby', 'fenced'] as const) this.set({ role: r }, r === role ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'cell_epoch',
    help: 'The epoch (fencing token) this cell holds',
    registers,
    collect() {
      this.set(cell.epoch);
    },
  });
  new client.Gauge({
    name: 'cell_replication_lag_bytes',
    help: 'Standby: WAL received but not yet replayed, in bytes (0 on a primary)',
    registers,
    collect() {
      this.set(cell.replicationLagBytes ?? 0);
    },
  });
  client.collectDefaultMetrics({ register: registry });

  return {
    registry,
    httpDuration,
    counter: (name, help, labelNames) => new client.Counter({ name, help, labelNames, registers }),
    gauge: (name, help, labelNames) => new client.Gauge({ name, help, labelNames, registers }),
    histogram: (name, help, labelNames, buckets) =>
      new client.Histogram({ name, help, labelNames, registers, ...(buckets ? { buckets } : {}) }),
  };
}
