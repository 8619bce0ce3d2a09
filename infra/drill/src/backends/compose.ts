// docker compose backend: containers are selected by the labels documented in infra/drill/README.md
// (the compose file sets them). docker-compose.yml publishes only the router, Prometheus and Grafana,
// so every per-cell call goes through `docker exec` into the cell's container (compose-cells.ts).
// The exec is injected so the exact commands are unit-tested here, where no Docker engine runs.
// Commands never go through a shell.

import { execFile } from 'node:child_process';
import {
  describeTarget,
  type Fault,
  type FaultKind,
  type FaultTarget,
  type RegionName,
  type ServiceName,
} from '@failover-lab/contracts';
import type { Backend, CellAccess, CellAnswer, CellCall, FaultInjector } from './backend';
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

/** `docker ps` of the containers a target reaches, narrowed by `extra` filters (status=running, …). */
async function containers(exec: Exec, target: FaultTarget, extra: string[]): Promise<string[]> {
  const { stdout } = await exec('docker', ['ps', '--all', '--quiet', ...labelFilters(target), ...extra]);
  const ids = stdout.split(/\s+/).filter((id) => id !== '');
  if (ids.length === 0)
    throw new Error(`no container matches ${describeTarget(target)} (${extra.join(' ')})`);
  return ids;
}

type DockerFault = (exec: Exec, target: FaultTarget) => Promise<void>;

const dockerOn =
  (verb: string[], status: 'running' | 'paused' | 'exited'): DockerFault =>
  async (exec, target) => {
    const ids = await containers(exec, target, ['--filter', `status=${status}`]);
    await exec('docker', [...verb, ...ids]);
  };

const kill = dockerOn(['kill', '--signal', 'KILL'], 'running');
const thaw = dockerOn(['unpause'], 'paused');
/** Starts the region's stopped containers; their entrypoints rejoin as standby (see README). */
const restore: DockerFault = (exec, target) => dockerOn(['start'], 'exited')(exec, { region: target.region });
const nothingToUndo: DockerFault = async () => {};

/** Every fault of the contract, in docker's words. `docker kill` is not restarted by a policy. */
export const COMPOSE_FAULTS: Readonly<Record<FaultKind, { apply: DockerFault; reset: DockerFault }>> = {
  region_kill: { apply: kill, reset: restore },
  component_kill: { apply: kill, reset: restore },
  region_freeze: { apply: dockerOn(['pause'], 'running'), reset: thaw },
  region_thaw: { apply: thaw, reset: nothingToUndo },
  region_restore: { apply: restore, reset: nothingToUndo },
};

export class ComposeBackend implements Backend {
  readonly name = 'compose' as const;
  readonly faults: FaultInjector;
  readonly cells: CellAccess;

  constructor(secrets: ComposeSecrets, exec: Exec = execDocker) {
    this.faults = {
      apply: (fault: Fault) => COMPOSE_FAULTS[fault.kind].apply(exec, fault.target),
      reset: (fault: Fault) => COMPOSE_FAULTS[fault.kind].reset(exec, fault.target),
      status: async () => {
        const { stdout } = await exec('docker', [
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
      },
    };
    this.cells = new ComposeCells(secrets, exec);
  }
}

/** docker-compose.yml publishes no cell: every per-cell call is a `docker exec` into its container. */
class ComposeCells implements CellAccess {
  constructor(
    private readonly secrets: ComposeSecrets,
    private readonly exec: Exec,
  ) {}

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

  /** Nothing on this machine can reach a cell by URL. */
  cellUrl(): null {
    return null;
  }

  private async onlyRunning(target: FaultTarget): Promise<string> {
    const ids = await containers(this.exec, target, ['--filter', 'status=running']);
    if (ids.length > 1) throw new Error(`${ids.length} running containers match ${describeTarget(target)}`);
    return ids[0]!;
  }
}
