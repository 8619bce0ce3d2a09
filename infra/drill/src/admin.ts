// Admin calls the drill makes with the lab's admin token: cells' /admin/* and /health/ready, the
// router's events. The token only ever travels in the Authorization header; it is never logged,
// printed or written to a report.
import type { CellAddress, RegionName, ServiceName } from '@failover-lab/lab';
import { request } from 'undici';
import { API } from './api';
import { assertLoopbackUrl } from './loopback';
import type { ControllerEvent } from './phases';

export interface CellState {
  status?: string;
  role: 'primary' | 'standby' | 'fenced';
  epoch: number;
  fenced: boolean;
  inRecovery: boolean;
  synchronousStandbyNames?: string | null;
  standbys?: { name: string; state: string; syncState: string; lagBytes: number | null }[];
}

export class AdminApi {
  constructor(
    private readonly routerUrl: string,
    private readonly cells: CellAddress[],
    private readonly adminToken: string,
    private readonly timeoutMs = 3_000,
  ) {
    assertLoopbackUrl(routerUrl);
    for (const cell of cells) assertLoopbackUrl(cell.appUrl);
  }

  cell(service: ServiceName, region: RegionName): CellAddress {
    const cell = this.cells.find((c) => c.service === service && c.region === region);
    if (!cell) throw new Error(`no cell ${region}/${service}`);
    return cell;
  }

  /** The cell's own view (role, epoch, fencing), or null when it does not answer. */
  async cellState(service: ServiceName, region: RegionName): Promise<CellState | null> {
    try {
      return await this.json<CellState>(`${this.cell(service, region).appUrl}${API.admin.state}`);
    } catch {
      return null;
    }
  }

  /** The region whose cell is an unfenced primary with the highest epoch, or null when none answers. */
  async primaryRegion(service: ServiceName): Promise<RegionName | null> {
    const states = await Promise.all(
      (['dc-a', 'dc-b'] as const).map(async (region) => ({
        region,
        state: await this.cellState(service, region),
      })),
    );
    const primaries = states
      .filter((s) => s.state?.role === 'primary' && !s.state.fenced)
      .sort((a, b) => b.state!.epoch - a.state!.epoch);
    return primaries[0]?.region ?? null;
  }

  async primaryCellUrl(service: ServiceName): Promise<string> {
    const region = await this.primaryRegion(service);
    if (!region) throw new Error(`no primary answers for ${service}`);
    return this.cell(service, region).appUrl;
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

  /** GET with the admin token, status and body as they are (404 is an answer, not an error). */
  async get(url: string): Promise<{ status: number; body: unknown }> {
    assertLoopbackUrl(url);
    try {
      const response = await request(url, {
        headers: { authorization: `Bearer ${this.adminToken}` },
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await response.body.text();
      return { status: response.statusCode, body: text === '' ? null : JSON.parse(text) };
    } catch {
      return { status: 0, body: null };
    }
  }

  async json<T>(url: string, init: { method?: 'GET' | 'POST'; body?: unknown } = {}): Promise<T> {
    assertLoopbackUrl(url);
    const response = await request(url, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${this.adminToken}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      signal: AbortSignal.timeout(this.timeoutMs),
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

/** Retries `attempt` until it resolves or `timeoutMs` passes (the lab may still be settling). */
export async function retrying<T>(what: string, timeoutMs: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await attempt();
    } catch (err) {
      lastError = err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(
    `${what} did not succeed within ${timeoutMs} ms: ${(lastError as Error)?.message ?? lastError}`,
  );
}
