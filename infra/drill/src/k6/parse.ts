// k6 `--out json=FILE` (JSON lines) → the drill's RequestRecords, streamed line by line so a long
// drill's output never has to fit in memory.
//
// What the format says (k6 v0.48's docs and a real run's output in test/fixtures/k6):
// - `{"type":"Point","metric":NAME,"data":{"time","value","tags"}}` lines are samples; every HTTP
//   request yields one point per http_req_* metric plus http_reqs, all with the same `time` and tags.
// - `time` is when the request ENDED. It began blocked + connecting + tls_handshaking + duration
//   (ms, the `value`s) earlier: http_req_duration covers sending+waiting+receiving only.
// - status "0" = no response (refused, reset, client timeout); `error`/`error_code` say which.
// - the project's scripts (loadtests/) tag every request with service, op and, for writes, wid,
//   and tag one check per write with served_by (the x-served-by header) and err (the body's code).

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { REGIONS, type RegionName, SERVICES, type ServiceName } from '@failover-lab/contracts';
import type { Op, RequestRecord } from '../records';

/** Every op the drill knows (records.ts); k6 requests tagged with anything else are left out. */
export const DRILL_OPS: ReadonlySet<string> = new Set<Op>([
  'signup',
  'signin',
  'me',
  'revoke',
  'transfer',
  'balance',
  'send',
  'read',
]);

/** The timings that together make the whole client-side life of a request. */
const TIMING_METRICS = [
  'http_req_blocked',
  'http_req_connecting',
  'http_req_tls_handshaking',
  'http_req_duration',
];

/**
 * k6's transport error codes (k6 docs, "Error codes") as the errno-like names the drill's own load
 * generator reports, so reports from both sources read the same. Unknown codes keep k6's text.
 */
const K6_TRANSPORT_ERRORS: Record<string, string> = {
  '1050': 'CLIENT_TIMEOUT', // request timeout (the drill's own generator says the same)
  '1211': 'ETIMEDOUT', // dial: i/o timeout
  '1212': 'ECONNREFUSED', // dial: connection refused
  '1220': 'ECONNRESET', // connection reset by peer
  '1221': 'EPIPE', // broken pipe
};

export interface K6ParseStats {
  lines: number;
  requests: number;
  /** points that were not k6 samples we understand (bad JSON, missing fields) */
  malformedLines: number;
  /** requests left out because service/op tags were missing or unknown (not a project script) */
  untaggedRequests: number;
  /** writes whose served_by/err check was found and merged */
  checksMerged: number;
}

export interface K6ParseOptions {
  /**
   * How many requests may be open at once while their points are still arriving. k6 writes a
   * request's points together, so a small window is plenty; a record older than the window is emitted.
   */
  window?: number;
  onStats?: (stats: K6ParseStats) => void;
}

interface Sample {
  metric: string;
  time: string;
  value: number;
  tags: Record<string, string>;
  metadata: Record<string, string>;
}

interface OpenRequest {
  key: string;
  endMs: number;
  tags: Record<string, string>;
  metadata: Record<string, string>;
  timings: Map<string, number>;
  servedBy: RegionName | null;
  bodyError: string | null;
  /** d_* tags of the write's check: what the audit needs to read it back (room, from/to/amount) */
  detail: Record<string, string | number>;
}

/** RFC 3339 with up to nanoseconds (and any offset) → epoch milliseconds, keeping sub-ms digits. */
export function parseRfc3339Ms(text: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) return Number.NaN;
  const wholeSeconds = Date.parse(`${m[1]}${m[3]}`);
  const fraction = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return wholeSeconds + fraction;
}

function readSample(line: string): Sample | null | 'skip' {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const obj = parsed as { type?: unknown; metric?: unknown; data?: unknown };
  if (obj.type !== 'Point') return 'skip'; // Metric declarations and anything newer we don't need
  const data = obj.data as
    | { time?: unknown; value?: unknown; tags?: unknown; metadata?: unknown }
    | undefined;
  if (
    typeof obj.metric !== 'string' ||
    !data ||
    typeof data.time !== 'string' ||
    typeof data.value !== 'number'
  ) {
    return null;
  }
  return {
    metric: obj.metric,
    time: data.time,
    value: data.value,
    tags: (data.tags as Record<string, string> | null) ?? {},
    metadata: (data.metadata as Record<string, string> | null | undefined) ?? {},
  };
}

/** Points of one request share time and tags; the pair identifies it. */
function requestKey(sample: Sample): string {
  return `${sample.time}\u0000${JSON.stringify(sample.tags)}`;
}

const asService = (v: string | undefined): ServiceName | null =>
  v !== undefined && (SERVICES as readonly string[]).includes(v) ? (v as ServiceName) : null;
const asRegion = (v: string | undefined): RegionName | null =>
  v !== undefined && (REGIONS as readonly string[]).includes(v) ? (v as RegionName) : null;

function toRecord(open: OpenRequest): RequestRecord | null {
  const service = asService(open.tags.service);
  const op = open.tags.op;
  if (!service || op === undefined || !DRILL_OPS.has(op)) return null;
  const clientSideMs = TIMING_METRICS.reduce((sum, name) => sum + (open.timings.get(name) ?? 0), 0);
  const status = Number(open.tags.status ?? '0');
  const ok =
    open.tags.expected_response !== undefined
      ? open.tags.expected_response === 'true'
      : status >= 200 && status < 300;
  const writeId = open.tags.wid ?? open.metadata.wid ?? null;
  let error: string | null = null;
  if (status === 0) {
    const code = open.tags.error_code;
    error =
      (code && K6_TRANSPORT_ERRORS[code]) ?? open.tags.error ?? (code ? `K6_ERR_${code}` : 'NO_RESPONSE');
  } else if (!ok) {
    error = open.bodyError ?? `HTTP_${status}`;
  }
  return {
    service,
    op: op as Op,
    startMs: open.endMs - clientSideMs,
    endMs: open.endMs,
    status: Number.isFinite(status) ? status : 0,
    ok,
    servedBy: open.servedBy,
    writeId,
    error,
    ...(Object.keys(open.detail).length > 0 ? { detail: open.detail } : {}),
  };
}

/**
 * Streams RequestRecords out of a k6 JSON output. Requests without the project's service/op tags
 * are counted (stats.untaggedRequests) and left out rather than guessed.
 */
export async function* readK6Records(
  input: string | Readable,
  options: K6ParseOptions = {},
): AsyncGenerator<RequestRecord> {
  const window = options.window ?? 4096;
  const stats: K6ParseStats = {
    lines: 0,
    requests: 0,
    malformedLines: 0,
    untaggedRequests: 0,
    checksMerged: 0,
  };
  const stream = typeof input === 'string' ? createReadStream(input, { encoding: 'utf8' }) : input;
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });

  // Insertion-ordered: the oldest open request is the first key.
  const open = new Map<string, OpenRequest>();
  // The newest open write per service+wid, for the check that follows it.
  const writes = new Map<string, OpenRequest>();

  const finish = (req: OpenRequest): RequestRecord | null => {
    open.delete(req.key);
    const wid = req.tags.wid ?? req.metadata.wid;
    if (wid !== undefined && writes.get(`${req.tags.service}\u0000${wid}`) === req) {
      writes.delete(`${req.tags.service}\u0000${wid}`);
    }
    const record = toRecord(req);
    if (record) stats.requests++;
    else stats.untaggedRequests++;
    return record;
  };

  for await (const line of lines) {
    if (line.trim() === '') continue;
    stats.lines++;
    const sample = readSample(line);
    if (sample === 'skip') continue;
    if (sample === null) {
      stats.malformedLines++;
      continue;
    }

    if (sample.metric === 'checks') {
      const wid = sample.tags.wid ?? sample.metadata.wid;
      const target = wid !== undefined ? writes.get(`${sample.tags.service}\u0000${wid}`) : undefined;
      if (target) {
        target.servedBy = asRegion(sample.tags.served_by) ?? target.servedBy;
        if (sample.tags.err) target.bodyError = sample.tags.err;
        for (const [tag, value] of Object.entries(sample.tags)) {
          if (!tag.startsWith('d_')) continue;
          target.detail[tag.slice(2)] = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
        }
        stats.checksMerged++;
      }
      continue;
    }
    if (sample.metric !== 'http_reqs' && !TIMING_METRICS.includes(sample.metric)) continue;

    const key = requestKey(sample);
    let req = open.get(key);
    if (!req) {
      const endMs = parseRfc3339Ms(sample.time);
      if (!Number.isFinite(endMs)) {
        stats.malformedLines++;
        continue;
      }
      req = {
        key,
        endMs,
        tags: sample.tags,
        metadata: sample.metadata,
        timings: new Map(),
        servedBy: null,
        bodyError: null,
        detail: {},
      };
      open.set(key, req);
      const wid = sample.tags.wid ?? sample.metadata.wid;
      if (wid !== undefined) writes.set(`${sample.tags.service}\u0000${wid}`, req);
      while (open.size > window) {
        const oldest = open.values().next().value as OpenRequest;
        const record = finish(oldest);
        if (record) yield record;
      }
    }
    if (sample.metric !== 'http_reqs') req.timings.set(sample.metric, sample.value);
  }

  for (const req of [...open.values()]) {
    const record = finish(req);
    if (record) yield record;
  }
  options.onStats?.(stats);
}

/** The whole file at once, sorted by start time (what the drill's measurements expect). */
export async function parseK6File(
  path: string,
  options: Omit<K6ParseOptions, 'onStats'> = {},
): Promise<{ records: RequestRecord[]; stats: K6ParseStats }> {
  const records: RequestRecord[] = [];
  let stats: K6ParseStats | undefined;
  for await (const record of readK6Records(path, { ...options, onStats: (s) => (stats = s) }))
    records.push(record);
  records.sort((a, b) => a.startMs - b.startMs);
  return { records, stats: stats! };
}
