// The controller's only way to change a cell: its admin API (docs/contracts.md, "Cell HTTP surface").

import type { CellReadiness, PromoteRequest, PromotionSteps } from '@failover-lab/contracts';
import { Agent, request } from 'undici';
import { readReadiness } from './cell-types';
import type { LookupFn } from './health/name-cache';

export class CellAdminError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'CellAdminError';
  }
}

export interface PromoteResult {
  role: string;
  epoch: number;
  promoteMs: number | null;
  /** the cell's own steps (its checks, pg_promote, Redis, the grants and its epoch write), as far as it reported them */
  steps: PromotionSteps;
}

const CELL_STEPS = [
  'checkMs',
  'pgPromoteMs',
  'redisMs',
  'syncOffMs',
  'migrationsMs',
  'writableMs',
  'markerMs',
] as const;

export interface CellAdmin {
  /** `lease`: the lease the promotion grants (docs/fencing.md, "The lease"); the caller counts it */
  promote(url: string, epoch: number, lease?: PromoteRequest['lease']): Promise<PromoteResult>;
  fence(url: string, epoch: number): Promise<void>;
  sync(url: string, standbys: string[]): Promise<void>;
  state(url: string): Promise<CellReadiness>;
}

export class HttpCellAdmin implements CellAdmin {
  private readonly agent: Agent;

  constructor(
    private readonly token: string,
    private readonly timeoutMs: number,
    /** how cell names become addresses (container mode: the NameCache); default: getaddrinfo per connection */
    lookup?: LookupFn,
  ) {
    this.agent = new Agent({
      keepAliveTimeout: 10_000,
      connections: 4,
      ...(lookup ? { connect: { lookup } } : {}),
    });
  }

  async promote(url: string, epoch: number, lease?: PromoteRequest['lease']) {
    const request: PromoteRequest = lease ? { epoch, lease } : { epoch };
    const body = (await this.call(url, 'POST', '/admin/promote', request)) as Record<string, unknown>;
    // An older cell may answer without steps: take what is there and is a number.
    const reported = (body.steps ?? {}) as Record<string, unknown>;
    const steps: PromotionSteps = {};
    for (const step of CELL_STEPS) {
      const value = reported[step];
      if (typeof value === 'number' && Number.isFinite(value) && value >= 0) steps[step] = value;
    }
    return {
      role: String(body.role ?? ''),
      epoch: Number(body.epoch ?? epoch),
      promoteMs: typeof body.promoteMs === 'number' ? body.promoteMs : null,
      steps,
    };
  }

  async fence(url: string, epoch: number): Promise<void> {
    await this.call(url, 'POST', '/admin/fence', { epoch });
  }

  async sync(url: string, standbys: string[]): Promise<void> {
    await this.call(url, 'POST', '/admin/sync', { standbys });
  }

  async state(url: string): Promise<CellReadiness> {
    const ready = readReadiness(await this.call(url, 'GET', '/admin/state'));
    if (!ready) throw new CellAdminError(`${url}/admin/state: unreadable body`, 200, null);
    return ready;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async call(url: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(`${url}${path}`, {
        dispatcher: this.agent,
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { code?: string };
      throw new CellAdminError(`${method} ${url}${path}: ${e.code ?? e.name}`, null, null);
    }
    const text = await res.body.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (res.statusCode >= 300) {
      const code = (parsed as { error?: { code?: string } } | null)?.error?.code ?? null;
      throw new CellAdminError(
        `${method} ${url}${path}: HTTP ${res.statusCode} ${code ?? ''}`.trim(),
        res.statusCode,
        code,
      );
    }
    return parsed;
  }
}
