// Live traffic from the router's own /metrics: per service, what happened between two scrapes. The
// router counts every request whoever sends it (the console's traffic, a drill, k6, curl), so the
// charts show all traffic through the edge without the console having to generate it.
import { SERVICES, type ServiceName } from '@failover-lab/lab';

/** One scrape: the counters the charts need, by service. */
export interface RouterCounters {
  atMs: number;
  /** router_requests_total summed over regions, by outcome */
  outcomes: Record<ServiceName, Record<string, number>>;
  /** router_request_duration_seconds cumulative buckets: [upper bound in s, count], ascending, +Inf last */
  buckets: Record<ServiceName, [number, number][]>;
}

export interface ServicePoint {
  /** requests that ended in the interval */
  requests: number;
  /** outcome other than ok */
  failed: number;
  /** ok / requests, null when no request ended */
  successRate: number | null;
  /** estimated from the histogram as Prometheus' histogram_quantile does; null without requests */
  p99Ms: number | null;
}

export interface MetricsPoint {
  /** end of the interval, epoch ms */
  t: number;
  intervalMs: number;
  services: Record<ServiceName, ServicePoint>;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function labels(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const m of raw.matchAll(LABEL))
    out[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return out;
}

const isService = (s: string | undefined): s is ServiceName => SERVICES.includes(s as ServiceName);

/**
 * Reads the two series the charts need out of the Prometheus text format. Only these two, so a
 * full exposition-format parser (and its dependency) would buy nothing.
 */
export function parseRouterMetrics(text: string, atMs: number): RouterCounters {
  const outcomes = Object.fromEntries(SERVICES.map((s) => [s, {}])) as RouterCounters['outcomes'];
  const bucketMaps = Object.fromEntries(SERVICES.map((s) => [s, new Map<number, number>()])) as Record<
    ServiceName,
    Map<number, number>
  >;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.length === 0) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const [, name, rawLabels, rawValue] = m;
    if (name !== 'router_requests_total' && name !== 'router_request_duration_seconds_bucket') continue;
    const l = labels(rawLabels);
    if (!isService(l.service)) continue;
    const value = Number(rawValue);
    if (!Number.isFinite(value)) continue;
    if (name === 'router_requests_total') {
      const outcome = l.outcome ?? 'unknown';
      outcomes[l.service][outcome] = (outcomes[l.service][outcome] ?? 0) + value;
    } else {
      const le = l.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(l.le);
      if (!Number.isNaN(le)) bucketMaps[l.service].set(le, value);
    }
  }
  const buckets = Object.fromEntries(
    SERVICES.map((s) => [s, [...bucketMaps[s].entries()].sort((a, b) => a[0] - b[0])]),
  ) as RouterCounters['buckets'];
  return { atMs, outcomes, buckets };
}

/**
 * The q-quantile of the observations that fell into the interval, from cumulative bucket deltas,
 * interpolated linearly inside the bucket (Prometheus' histogram_quantile). An observation in the
 * +Inf bucket reports the highest finite bound.
 */
export function quantileFromBuckets(q: number, deltas: [number, number][]): number | null {
  const total = deltas.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of deltas) {
    if (count >= rank) {
      if (!Number.isFinite(bound)) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket <= 0 ? bound : lowerBound + (bound - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/**
 * The interval between two scrapes, or null when a counter went down (the router restarted: the
 * difference would be meaningless).
 */
export function intervalPoint(prev: RouterCounters, next: RouterCounters): MetricsPoint | null {
  const services = {} as Record<ServiceName, ServicePoint>;
  for (const service of SERVICES) {
    const before = prev.outcomes[service];
    const after = next.outcomes[service];
    const requests = sum(after) - sum(before);
    const ok = (after.ok ?? 0) - (before.ok ?? 0);
    if (requests < 0 || ok < 0) return null;
    const prevBuckets = new Map(prev.buckets[service]);
    const deltas: [number, number][] = next.buckets[service].map(([le, count]) => [
      le,
      count - (prevBuckets.get(le) ?? 0),
    ]);
    if (deltas.some(([, d]) => d < 0)) return null;
    const p99 = quantileFromBuckets(0.99, deltas);
    services[service] = {
      requests,
      failed: requests - ok,
      successRate: requests > 0 ? ok / requests : null,
      p99Ms: p99 === null ? null : Math.round(p99 * 1000 * 10) / 10,
    };
  }
  return { t: next.atMs, intervalMs: next.atMs - prev.atMs, services };
}
