// The router's Prometheus metrics, names exactly per docs/contracts.md ("Router" → Metrics).
// One registry per router instance so tests can run several routers in one process.
import { EVENT_TYPES } from '@failover-lab/contracts';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type RequestOutcome =
  | 'ok' // upstream answered < 500
  | 'upstream_5xx'
  | 'no_primary'
  | 'hold_full'
  | 'timeout'
  | 'connection_error'
  | 'sync_standby_lost'
  | 'bad_request';

export class RouterMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'router_requests_total',
    help: 'Requests through the router by service, region served (none when not forwarded) and outcome',
    labelNames: ['service', 'region', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'router_request_duration_seconds',
    help: 'Time from request received to response headers sent, holds and retries included',
    labelNames: ['service'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly failoverDuration = new Histogram({
    name: 'controller_failover_duration_seconds',
    help: 'Time from the primary confirmed down to traffic routed to the new primary',
    labelNames: ['service'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly cellUp = new Gauge({
    name: 'cell_up',
    help: '1 while the router does not consider the cell down (up or merely suspected), else 0',
    labelNames: ['service', 'region'] as const,
    registers: [this.registry],
  });
  readonly epoch = new Gauge({
    name: 'controller_epoch',
    help: 'Current failover epoch per service',
    labelNames: ['service'] as const,
    registers: [this.registry],
  });
  readonly rpoSuspended = new Gauge({
    name: 'controller_rpo_guarantee_suspended',
    help: '1 while a sync service commits without a synchronous standby',
    labelNames: ['service'] as const,
    registers: [this.registry],
  });
  readonly heldRequests = new Gauge({
    name: 'router_held_requests',
    help: 'Requests waiting for a primary right now (bounded by proxy.maxHeldRequests)',
    registers: [this.registry],
  });
  readonly events = new Counter({
    name: 'controller_events_total',
    help: 'Controller events by service and type',
    labelNames: ['service', 'type'] as const,
    registers: [this.registry],
  });

  /**
   * Every service's event counters and failover histogram exist at 0 from the start: a series that
   * appears only at its first increment has no earlier sample, so `increase()` (the dashboard, the
   * FailoverHappened alert) would never see a router's first failover.
   */
  constructor(services: readonly string[] = []) {
    for (const service of services) {
      for (const type of EVENT_TYPES) this.events.inc({ service, type }, 0);
      this.failoverDuration.zero({ service });
    }
  }
}
