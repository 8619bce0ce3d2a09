// Per-bucket success rate and p99 latency of one service: the data behind the report's charts.
import type { Bucket } from '@failover-lab/contracts';
import type { RequestRecord } from './records';

export const BUCKET_MS = 250;

/** Buckets by request start time from `originMs` to `endMs`, empty ones included (they are the outages). */
export function timeline(
  records: RequestRecord[],
  originMs: number,
  endMs: number,
  bucketMs = BUCKET_MS,
): Bucket[] {
  const count = Math.max(1, Math.ceil((endMs - originMs) / bucketMs));
  const latencies: number[][] = Array.from({ length: count }, () => []);
  const oks = new Array<number>(count).fill(0);
  for (const r of records) {
    const index = Math.floor((r.startMs - originMs) / bucketMs);
    if (index < 0 || index >= count) continue;
    latencies[index]!.push(r.endMs - r.startMs);
    if (r.ok) oks[index]!++;
  }
  return latencies.map((values, i) => ({
    atMs: i * bucketMs,
    requests: values.length,
    ok: oks[i]!,
    successRate: values.length === 0 ? null : oks[i]! / values.length,
    p99Ms: values.length === 0 ? null : percentile(values, 0.99),
  }));
}

export function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}
