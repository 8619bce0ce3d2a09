// Admin calls the drill makes: the router's status and events over HTTP with the admin token, and
// each cell's /admin/* through the backend (direct on the lab, docker exec on compose). The token only
// ever travels in an Authorization header (or a container's environment); it is never logged,
// printed or written to a report.
import {
  type CellReadiness,
  type ControllerEvent,
  REGIONS,
  type RegionName,
  type ServiceName,
} from '@failover-lab/contracts';
import { request } from 'undici';
import { API } from './api';
import { type CellAccess, type CellAnswer, type CellCall, describeAnswer } from './backends/backend';
import { assertLoopbackUrl } from './loopback';

const isSuccess = (answer: CellAnswer) => answer.status >= 200 && answer.status < 300;

export class AdminApi {
  constructor(
    private readonly routerUrl: string,
    private readonly cells: Pick<CellAccess, 'cellHttp'>,
    private readonly adminToken: string,
    private readonly timeoutMs = 3_000,
  ) {
    assertLoopbackUrl(routerUrl);
  }

  /** The cell's own view (role, epoch, fencing), or null when it does not answer. */
  async cellState(service: ServiceName, region: RegionName): Promise<CellReadiness | null> {
    const answer = await this.cells.cellHttp(service, region, { method: 'GET', path: API.admin.state });
    return isSuccess(answer) && typeof answer.body === 'object' ? (answer.body as CellReadiness) : null;
  }

  /** The region whose cell is an unfenced primary with the highest epoch, or null when none answers. */
  async primaryRegion(service: ServiceName): Promise<RegionName | null> {
    const states = await Promise.all(
      REGIONS.map(async (region) => ({
        region,
        state: await this.cellState(service, region),
      })),
    );
    const primaries = states
      .filter((s) => s.state?.role === 'primary' && !s.state.fenced)
      .sort((a, b) => b.state!.epoch - a.state!.epoch);
    return primaries[0]?.region ?? null;
  }

  async requirePrimaryRegion(service: ServiceName): Promise<RegionName> {
    const region = await this.primaryRegion(service);
    if (!region) throw new Error(`no primary answers for ${service}`);
    return region;
  }

  /** GET on a cell, status and body as they are (404 is an answer; 0 = no answer). */
  cellGet(service: ServiceName, region: RegionName, path: string): Promise<CellAnswer> {
    return this.cells.cellHttp(service, region, { method: 'GET', path });
  }

  /** A cell call that must succeed: its JSON body, or an error saying what the cell answered. */
  async cellJson<T>(service: ServiceName, region: RegionName, call: CellCall): Promise<T> {
    const answer = await this.cells.cellHttp(service, region, call);
    if (!isSuccess(answer)) {
      throw new Error(`${call.method} ${call.path} on ${region}/${service} → ${describeAnswer(answer)}`);
    }
    return answer.body as T;
  }

  /** The same on the service's current primary cell. */
  async primaryCellJson<T>(service: ServiceName, call: CellCall): Promise<T> {
    return this.cellJson<T>(service, await this.requirePrimaryRegion(service), call);
  }

  async events(since: Date): Promise<ControllerEvent[]> {
    const body = await this.json<unknown>(`${this.routerUrl}${API.router.events(since.toISOString())}`);
    const list = Array.isArray(body) ? body : (body as { events?: unknown }).events;
    if (!Array.isArray(list)) throw new Error('router events: unexpected body');
    return list as ControllerEvent[];
  }

  async routerStatus(): Promise<unknown> {
    return this.json(`${this.routerUrl}${API.router.status}`);
  }

  /**
   * Planned switchover of one service (POST /admin/switchover): answers once the new primary serves.
   * It holds the service's traffic while the old primary's writes drain, so it gets the caller's bound.
   */
  async switchover(service: ServiceName, to: RegionName, timeoutMs: number): Promise<SwitchoverResult> {
    return this.json<SwitchoverResult>(`${this.routerUrl}${API.router.switchover}`, {
      method: 'POST',
      body: { service, to },
      timeoutMs,
    });
  }

  private async json<T>(
    url: string,
    init: { method?: 'GET' | 'POST'; body?: unknown; timeoutMs?: number } = {},
  ): Promise<T> {
    const timeoutMs = init.timeoutMs ?? this.timeoutMs;
    assertLoopbackUrl(url);
    const response = await request(url, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${this.adminToken}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.body.text();
    if (response.statusCode >= 300) {
      throw new Error(
        `${init.method ?? 'GET'} ${new URL(url).pathname} → ${response.statusCode} ${text.slice(0, 200)}`,
      );
    }
    return (text === '' ? null : JSON.parse(text)) as T;
  }
}

/** The router's answer to a switchover: `ms` is how long it held the service's traffic. */
export interface SwitchoverResult {
  service: ServiceName;
  from: RegionName;
  to: RegionName;
  epoch: number;
  ms: number;
}

/**
 * Retries `attempt` until it resolves or `timeoutMs` passes (the lab may still be settling).
 * `pauseMs(n)`: the pause after the n-th failed attempt (default 250 ms each).
 */
export async function retrying<T>(
  what: string,
  timeoutMs: number,
  attempt: () => Promise<T>,
  pauseMs: (failures: number) => number = () => 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let failures = 0;
  while (Date.now() < deadline) {
    try {
      return await attempt();
    } catch (err) {
      lastError = err;
      failures++;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, Math.min(pauseMs(failures), deadline - Date.now()))),
      );
    }
  }
  throw new Error(
    `${what} did not succeed within ${timeoutMs} ms: ${(lastError as Error)?.message ?? lastError}`,
  );
}
