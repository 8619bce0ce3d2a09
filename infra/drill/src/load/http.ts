// Keep-alive pools to one origin (the router, or a cell for the audit), one per service; every call
// becomes a RequestRecord, whatever happens.
//
// One pool per service, because a shared one measures the drill instead of the system: while the router
// holds one service's requests through its failover (up to its hold time), a shared pool fills with
// them and the other services' requests queue behind them in the client, time out there, and count as
// failures of services the fault never touched (seen: login 'failed' during a messaging app crash).
// Real users of login do not share a connection pool with users of messaging.
import type { RegionName, ServiceName } from '@failover-lab/lab';
import { Pool } from 'undici';
import { assertLoopbackUrl } from '../loopback';
import type { Op, RequestRecord } from '../records';

export interface CallSpec {
  service: ServiceName;
  op: Op;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  writeId?: string | null;
  detail?: Record<string, string | number>;
  /** statuses that mean "the service did its job" for this op (business refusals included) */
  okStatuses: readonly number[];
}

export interface CallResult {
  status: number;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  record: RequestRecord;
}

export class RecordingClient {
  private readonly pools = new Map<ServiceName, Pool>();
  private readonly origin: string;

  constructor(
    baseUrl: string,
    private readonly options: {
      timeoutMs: number;
      connections?: number;
      onRecord?: (r: RequestRecord) => void;
    },
  ) {
    this.origin = assertLoopbackUrl(baseUrl).origin;
  }

  private poolFor(service: ServiceName): Pool {
    let pool = this.pools.get(service);
    if (!pool) {
      pool = new Pool(this.origin, {
        connections: this.options.connections ?? 64,
        keepAliveTimeout: 10_000,
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
        connectTimeout: this.options.timeoutMs,
      });
      this.pools.set(service, pool);
    }
    return pool;
  }

  async call(spec: CallSpec): Promise<CallResult> {
    const startMs = performance.timeOrigin + performance.now();
    let status = 0;
    let body: unknown = null;
    let headers: CallResult['headers'] = {};
    let error: string | null = null;
    try {
      const response = await this.poolFor(spec.service).request({
        method: spec.method,
        path: spec.path,
        headers: {
          ...(spec.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...spec.headers,
        },
        body: spec.body !== undefined ? JSON.stringify(spec.body) : undefined,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      status = response.statusCode;
      headers = response.headers;
      const text = await response.body.text();
      body = parseJson(text);
      if (!spec.okStatuses.includes(status)) error = errorCodeOf(body) ?? `HTTP_${status}`;
    } catch (err) {
      error = transportErrorCode(err);
    }
    const endMs = performance.timeOrigin + performance.now();
    const servedBy = headers['x-served-by'];
    const record: RequestRecord = {
      service: spec.service,
      op: spec.op,
      startMs,
      endMs,
      status,
      ok: status !== 0 && spec.okStatuses.includes(status),
      servedBy: typeof servedBy === 'string' ? (servedBy as RegionName) : null,
      writeId: spec.writeId ?? null,
      error,
      ...(spec.detail ? { detail: spec.detail } : {}),
    };
    this.options.onRecord?.(record);
    return { status, body, headers, record };
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close().catch(() => pool.destroy())));
  }
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function errorCodeOf(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const error = (body as { error?: unknown }).error;
  if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string') {
    return (error as { code: string }).code;
  }
  return null;
}

function transportErrorCode(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'CLIENT_TIMEOUT';
    return err.name;
  }
  return 'UNKNOWN';
}
