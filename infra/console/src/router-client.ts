// The router's admin API and /metrics over HTTP, as the CLI and the drill use them. The console never
// imports the router: it reads what any operator could read with the admin token.
import type { RegionName, ServiceName } from '@failover-lab/lab';
import { ConsoleError } from './errors';

export interface RouterCellStatus {
  url: string;
  status: string;
  role: string | null;
  epoch: number | null;
  fenced: boolean | null;
  replicationLagBytes: number | null;
  lastProbeMs: number | null;
  lastError: string | null;
  since: string;
}

export interface RouterServiceStatus {
  primary: RegionName;
  epoch: number;
  mode: 'sync' | 'async';
  serving: boolean;
  refuseWrites: boolean;
  rpoGuaranteeSuspended: boolean;
  lastOutcome: unknown;
  cells: Record<RegionName, RouterCellStatus>;
}

export interface RouterStatus {
  at: string;
  services: Record<ServiceName, RouterServiceStatus>;
}

export interface ControllerEvent {
  at: string;
  type: string;
  service: ServiceName;
  region: RegionName;
  epoch: number;
  detail?: string;
}

export class RouterClient {
  constructor(
    readonly url: string,
    private readonly adminToken: () => string | undefined,
  ) {}

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 2_000): Promise<T> {
    const token = this.adminToken();
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new ConsoleError('CONSOLE_ERR_UPSTREAM', `router ${method} ${path}: ${(err as Error).message}`);
    }
    const text = await res.text();
    let payload: unknown = null;
    try {
      payload = JSON.parse(text);
    } catch {
      /* not JSON: reported below */
    }
    if (!res.ok) {
      const error = (payload as { error?: { code?: string; message?: string } } | null)?.error;
      throw new ConsoleError(
        'CONSOLE_ERR_UPSTREAM',
        `router ${method} ${path}: ${res.status} ${error?.code ?? ''} ${error?.message ?? ''}`.trim(),
      );
    }
    return payload as T;
  }

  status(): Promise<RouterStatus> {
    return this.call('GET', '/admin/status');
  }

  async events(since?: string): Promise<ControllerEvent[]> {
    const query = since ? `?since=${encodeURIComponent(since)}` : '';
    return (await this.call<{ events: ControllerEvent[] }>('GET', `/admin/events${query}`)).events;
  }

  /** A planned switchover takes seconds (drain, catch-up, promote). */
  switchover(service: ServiceName, to?: RegionName): Promise<unknown> {
    return this.call('POST', '/admin/switchover', to ? { service, to } : { service }, 60_000);
  }

  async metrics(): Promise<string> {
    const res = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok) throw new Error(`router /metrics answered ${res.status}`);
    return res.text();
  }
}
