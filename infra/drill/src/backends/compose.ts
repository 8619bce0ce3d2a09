// docker compose backend: containers are selected by the labels documented in infra/drill/README.md
// (the compose file sets them). docker-compose.yml publishes only the router, Prometheus and Grafana,
// so every per-cell call goes through `docker exec` into the cell's container (compose-cells.ts).
// The exec is injected so the exact commands are unit-tested here, where no Docker engine runs.
// Commands never go through a shell.

import { execFile } from 'node:child_process';
import type { RegionName, ServiceName } from '@failover-lab/contracts';
import { type Backend, type CellAnswer, type CellCall, describeTarget, type FaultTarget } from './backend';
import { cellCountArgs, cellFetchArgs, parseCellFetchOutput, parseCount } from './compose-cells';

export const LABEL = {
  region: 'failover-lab.region',
  service: 'failover-lab.service',
  component: 'failover-lab.component',
} as const;

export interface ExecOptions {
  /** added to the docker CLI's own environment (secrets that `-e NAME` forwards into a container) */
  env?: Record<string, string>;
  timeoutMs?: number;
}

export type Exec = (file: string, args: string[], options?: ExecOptions) => Promise<{ stdout: string }>;

export const execDocker: Exec = (file, args, options = {}) =>
  new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        timeout: options.timeoutMs ?? 60_000,
        env: options.env ? { ...process.env, ...options.env } : process.env,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        // argv only in the message: secrets are never in it (they travel in the environment)
        if (error) reject(new Error(`${file} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
        else resolve({ stdout });
      },
    );
  });

/** What the drill must hand the cells (from .lab/compose.env); never logged, never in an argv. */
export interface ComposeSecrets {
  adminToken: string;
  /** APP_DB_PASSWORD: the `app` role's password, for the split-brain count */
  appPassword: string;
}

/** A cell call includes a `docker ps` and a container's node start-up: give it more than the fetch's 3 s. */
const CELL_EXEC_TIMEOUT_MS = 15_000;

export function labelFilters(target: FaultTarget): string[] {
  const filters = ['--filter', `label=${LABEL.region}=${target.region}`];
  if (target.service) filters.push('--filter', `label=${LABEL.service}=${target.service}`);
  if (target.component) filters.push('--filter', `label=${LABEL.component}=${target.component}`);
  return filters;
}

export class ComposeBackend implements Backend {
  readonly name = 'compose' as const;

  constructor(
    private readonly secrets: ComposeSecrets,
    private readonly exec: Exec = execDocker,
  ) {}

  async kill(target: FaultTarget): Promise<void> {
    const ids = await this.containers(target, ['--filter', 'status=running']);
    await this.exec('docker', ['kill', '--signal', 'KILL', ...ids]);
  }

  async freeze(target: FaultTarget): Promise<void> {
    const ids = await this.containers(target, ['--filter', 'status=running']);
    await this.exec('docker', ['pause', ...ids]);
  }

  async thaw(target: FaultTarget): Promise<void> {
    const ids = await this.containers(target, ['--filter', 'status=paused']);
    await this.exec('docker', ['unpause', ...ids]);
  }

  /** Starts the region's stopped containers; their entrypoints rejoin as standby (see README). */
  async restore(region: RegionName): Promise<void> {
    const ids = await this.containers({ region }, ['--filter', 'status=exited']);
    await this.exec('docker', ['start', ...ids]);
  }

  async status(): Promise<unknown> {
    const { stdout } = await this.exec('docker', [
      'ps',
      '--all',
      '--filter',
      `label=${LABEL.region}`,
      '--format',
      '{{json .}}',
    ]);
    return stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as unknown);
  }

  /**
   * `docker exec` into the cell's running app container, node fetches the app on the container's
   * loopback. A cell without a running container (killed, paused) or whose exec fails did not answer.
   */
  async cellHttp(service: ServiceName, region: RegionName, call: CellCall): Promise<CellAnswer> {
    try {
      const id = await this.onlyRunning({ region, service, component: 'app' });
      const { stdout } = await this.exec('docker', cellFetchArgs(id, call), {
        env: { ADMIN_TOKEN: this.secrets.adminToken },
        timeoutMs: CELL_EXEC_TIMEOUT_MS,
      });
      return parseCellFetchOutput(stdout);
    } catch (err) {
      return { status: 0, body: null, error: (err as Error).message };
    }
  }

  /** psql inside the cell's running Postgres container, as `app`. */
  async countCellWrites(service: ServiceName, region: RegionName, since: Date): Promise<number> {
    const id = await this.onlyRunning({ region, service, component: 'postgres' });
    const { stdout } = await this.exec('docker', cellCountArgs(id, service, since), {
      env: { PGPASSWORD: this.secrets.appPassword },
      timeoutMs: CELL_EXEC_TIMEOUT_MS,
    });
    return parseCount(stdout);
  }

  /** docker-compose.yml publishes no cell: nothing on this machine can reach one by URL. */
  cellUrl(): null {
    return null;
  }

  private async onlyRunning(target: FaultTarget): Promise<string> {
    const ids = await this.containers(target, ['--filter', 'status=running']);
    if (ids.length > 1) throw new Error(`${ids.length} running containers match ${describeTarget(target)}`);
    return ids[0]!;
  }

  private async containers(target: FaultTarget, extra: string[]): Promise<string[]> {
    const { stdout } = await this.exec('docker', [
      'ps',
      '--all',
      '--quiet',
      ...labelFilters(target),
      ...extra,
    ]);
    const ids = stdout.split(/\s+/).filter((id) => id !== '');
    if (ids.length === 0)
      throw new Error(`no container matches ${describeTarget(target)} (${extra.join(' ')})`);
    return ids;
  }
}
