// Prometheus cross-check: the same RTO computed from the router's own counters
// (router_requests_total{service,region,outcome}), beside the clients' ground truth. The router
// counts a request it held and retried as one `ok`, so this view can be shorter than what clients
// saw; the difference is the point of printing both. Absent Prometheus → a note, never a failure.
import { type PrometheusCrossCheck, SERVICES, type ServiceName } from '@failover-lab/contracts';
import { request } from 'undici';
import { assertLoopbackUrl } from './loopback';

export interface CounterSeries {
  service: string;
  outcome: string;
  /** [unix seconds, value] as Prometheus returns them */
  values: [number, number][];
}

/**
 * Per step, the failed requests of a service = the increase of every non-ok outcome since the previous
 * step (a series first seen mid-run started from 0). RTO = end of the last step with failures − fault;
 * 0 when no step after the fault failed; null when the last step still failed.
 */
export function rtoFromCounters(
  series: CounterSeries[],
  service: ServiceName,
  faultMs: number,
  stepMs: number,
  endMs: number,
): number | null {
  const failuresAt = new Map<number, number>();
  for (const s of series) {
    if (s.service !== service || s.outcome === 'ok') continue;
    let previous = 0;
    for (const [t, v] of s.values) {
      const ms = t * 1000;
      const increase = v >= previous ? v - previous : v; // counter reset (router restart)
      previous = v;
      if (increase > 0) failuresAt.set(ms, (failuresAt.get(ms) ?? 0) + increase);
    }
  }
  const failingSteps = [...failuresAt.keys()].filter((ms) => ms > faultMs).sort((a, b) => a - b);
  if (failingSteps.length === 0) return 0;
  const last = failingSteps[failingSteps.length - 1]!;
  if (last + stepMs > endMs) return null;
  return last - faultMs;
}

export async function prometheusCrossCheck(
  prometheusUrl: string,
  window: { startMs: number; endMs: number; faultMs: number },
  stepMs = 1_000,
): Promise<PrometheusCrossCheck> {
  try {
    assertLoopbackUrl(prometheusUrl);
    // One more scrape interval so the last requests of the load are in.
    const url = new URL('/api/v1/query_range', prometheusUrl);
    url.searchParams.set('query', 'sum by (service, outcome) (router_requests_total)');
    url.searchParams.set('start', String((window.startMs - stepMs) / 1000));
    url.searchParams.set('end', String((window.endMs + stepMs) / 1000));
    url.searchParams.set('step', `${stepMs / 1000}s`);
    const response = await request(url, { headersTimeout: 5_000, bodyTimeout: 5_000 });
    const body = (await response.body.json()) as {
      status: string;
      data?: { result: { metric: Record<string, string>; values: [number, string][] }[] };
    };
    if (response.statusCode !== 200 || body.status !== 'success' || !body.data) {
      return { available: false, note: `Prometheus answered ${response.statusCode}` };
    }
    const series: CounterSeries[] = body.data.result.map((r) => ({
      service: r.metric.service ?? '',
      outcome: r.metric.outcome ?? '',
      values: r.values.map(([t, v]) => [t, Number(v)] as [number, number]),
    }));
    if (series.length === 0)
      return { available: false, note: 'Prometheus has no router_requests_total samples for the run' };
    const rtoMs: Partial<Record<ServiceName, number | null>> = {};
    for (const service of SERVICES) {
      rtoMs[service] = rtoFromCounters(series, service, window.faultMs, stepMs, window.endMs + stepMs);
    }
    return {
      available: true,
      stepMs,
      rtoMs,
      note: 'resolution is one query step; the router counts held-and-retried requests as ok and 4xx as ok',
    };
  } catch (err) {
    return {
      available: false,
      note: `Prometheus not reachable at ${prometheusUrl}: ${(err as Error).message}`,
    };
  }
}
