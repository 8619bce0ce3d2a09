// The chart points from the router's metrics, on exposition text written by prom-client itself
// (the library the router uses), with the router's own metric names and buckets.
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { intervalPoint, parseRouterMetrics, quantileFromBuckets } from '../src/metrics';

function routerLikeRegistry() {
  const registry = new Registry();
  const requests = new Counter({
    name: 'router_requests_total',
    help: 'requests',
    labelNames: ['service', 'region', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'router_request_duration_seconds',
    help: 'duration',
    labelNames: ['service'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return { registry, requests, duration };
}

describe('router metrics → chart points', () => {
  it('counts requests and failures per service and estimates p99 from the histogram', async () => {
    const { registry, requests, duration } = routerLikeRegistry();
    requests.inc({ service: 'payments', region: 'dc-a', outcome: 'ok' }, 10);
    const before = parseRouterMetrics(await registry.metrics(), 1_000);

    requests.inc({ service: 'payments', region: 'dc-a', outcome: 'ok' }, 98);
    requests.inc({ service: 'payments', region: 'dc-b', outcome: 'ok' }, 0);
    requests.inc({ service: 'payments', region: 'none', outcome: 'no_primary' }, 2);
    for (let i = 0; i < 99; i++) duration.observe({ service: 'payments' }, 0.02);
    duration.observe({ service: 'payments' }, 0.7); // the one held through a failover
    const after = parseRouterMetrics(await registry.metrics(), 2_000);

    const point = intervalPoint(before, after)!;
    expect(point.t).toBe(2_000);
    expect(point.intervalMs).toBe(1_000);
    expect(point.services.payments).toMatchObject({ requests: 100, failed: 2, successRate: 0.98 });
    // rank 99 of 100 is the last of the 99 in (0.01, 0.025]: the bucket's upper bound
    expect(point.services.payments.p99Ms).toBe(25);
    expect(point.services.login).toEqual({ requests: 0, failed: 0, successRate: null, p99Ms: null });
  });

  it('shows a stall: when the slow ones are over 1 %, p99 lands in their bucket', async () => {
    const { registry, duration } = routerLikeRegistry();
    const before = parseRouterMetrics(await registry.metrics(), 0);
    for (let i = 0; i < 7; i++) duration.observe({ service: 'messaging' }, 0.01);
    duration.observe({ service: 'messaging' }, 0.6);
    const point = intervalPoint(before, parseRouterMetrics(await registry.metrics(), 1_000))!;
    expect(point.services.messaging.p99Ms).toBeGreaterThan(500);
    expect(point.services.messaging.p99Ms).toBeLessThanOrEqual(1_000);
  });

  it('skips an interval in which a counter went down (the router restarted)', async () => {
    const a = routerLikeRegistry();
    a.requests.inc({ service: 'login', region: 'dc-a', outcome: 'ok' }, 50);
    const before = parseRouterMetrics(await a.registry.metrics(), 0);
    const b = routerLikeRegistry();
    b.requests.inc({ service: 'login', region: 'dc-a', outcome: 'ok' }, 3);
    expect(intervalPoint(before, parseRouterMetrics(await b.registry.metrics(), 1_000))).toBeNull();
  });

  it('quantiles follow histogram_quantile: interpolation inside a bucket, +Inf reports the top bound', () => {
    expect(
      quantileFromBuckets(0.5, [
        [1, 0],
        [2, 10],
        [Number.POSITIVE_INFINITY, 10],
      ]),
    ).toBe(1.5);
    expect(
      quantileFromBuckets(0.99, [
        [1, 0],
        [2, 0],
        [Number.POSITIVE_INFINITY, 4],
      ]),
    ).toBe(2);
    expect(
      quantileFromBuckets(0.99, [
        [1, 0],
        [Number.POSITIVE_INFINITY, 0],
      ]),
    ).toBeNull();
  });

  it('ignores other series and malformed lines', () => {
    const text = [
      '# HELP router_requests_total x',
      'router_requests_total{service="login",region="dc-a",outcome="ok"} 4',
      'router_requests_total{service="nope",region="dc-a",outcome="ok"} 9',
      'cell_up{service="login",region="dc-a"} 1',
      'garbage line',
    ].join('\n');
    const parsed = parseRouterMetrics(text, 0);
    expect(parsed.outcomes.login).toEqual({ ok: 4 });
    expect(parsed.outcomes.payments).toEqual({});
  });
});
