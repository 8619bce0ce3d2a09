// docker compose backend: containers are selected by the labels documented in infra/drill/README.md
// (the compose file sets them) and by compose's own project label, so two stacks on one engine never
// touch each other. docker-compose.yml publishes only the router, Prometheus and Grafana, so every
// per-cell call goes through `docker exec` into the cell's container (compose-cells.ts). Commands
// never go through a shell on this side. Tested against a real engine: infra/compose/test/.
import { execFile } from 'node:child_process';
import type { RegionName, ServiceName } from '@failover-lab/lab';
import { type Backend, type CellAnswer, type CellCall, describeTarget, type FaultTarget } from './backend';
import { cellCountArgs, cellFetchArgs, parseCellFetchOutput, parseCount } from './compose-cells';

export const LABEL = {
  region: 'failover-lab.region',
  service: 'failover-lab.service',
  component: 'failover-lab.component',
  /** set by docker compose itself on every container of a project */
  project: 'com.docker.compose.project',
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

/** kill, pause, start: seconds each for the daemon on a busy host (network and cgroup work) */
const DOCKER_ACTION_TIMEOUT_MS = 180_000;

/** A cell call includes a `docker ps` and a container's node start-up: give it more than the fetch's 3 s. */
const CELL_EXEC_TIMEOUT_MS = 15_000;

export function labelFilters(target: FaultTarget, project?: string): string[] {
  const filters = project ? ['--filter', `label=${LABEL.project}=${project}`] : [];
  filters.push('--filter', `label=${LABEL.region}=${target.region}`);
  if (target.service) filters.push('--filter', `label=${LABEL.service}=${target.service}`);
  if (target.component) filters.push('--filter', `label=${LABEL.component}=${target.component}`);
  return filters;
}

export class ComposeBackend implements Backend {
  readonly name = 'compose' as const;

  constructor(
    private readonly secrets: ComposeSecrets,
    /** the compose project (COMPOSE_PROJECT_NAME); every container outside it is left alone */
    private readonly project?: string,
    private readonly exec: Exec = execDocker,
  ) {}

  /**
   * A region or a data store: `docker kill` (the fire). Docker marks such a container as stopped by
   * hand, so no restart policy brings it back: it stays down until restore. An app alone is a crash:
   * its node process is SIGKILLed inside the container, the image's tini exits 137 and Docker's
   * restart policy restarts it in place, as the lab's supervisor does.
   */
  async kill(target: FaultTarget): Promise<void> {
    const ids = await this.containers(target, ['--filter', 'status=running']);
    if (target.component === 'app') {
      await Promise.all(ids.map((id) => this.crash(id)));
      return;
    }
    // one CLI call: it kills the containers in parallel (a region dies at once, not one by one)
    await this.exec('docker', ['kill', '--signal', 'KILL', ...ids], { timeoutMs: DOCKER_ACTION_TIMEOUT_MS });
  }

  /** SIGKILL every process of the container but its init (tini), which then exits with node's 137. */
  private async crash(id: string): Promise<void> {
    // The exec's own shell dies with the container, so its exit status says nothing: what counts is
    // that the container exited (the restart policy takes it from there).
    await this.exec('docker', ['exec', id, 'bash', '-c', 'kill -KILL -1'], { timeoutMs: 10_000 }).catch(
      () => {},
    );
  }

  async freeze(target: FaultTarget): Promise<void> {
    const ids = await this.containers(target, ['--filter', 'status=running']);
    await this.exec('docker', ['pause', ...ids], { timeoutMs: DOCKER_ACTION_TIMEOUT_MS });
  }

  async thaw(target: FaultTarget): Promise<void> {
    const ids = await this.containers(target, ['--filter', 'status=paused']);
    await this.exec('docker', ['unpause', ...ids], { timeoutMs: DOCKER_ACTION_TIMEOUT_MS });
  }

  /**
   * Brings the region back as standby of the current primaries: every container of it restarts,
   * all at once (`docker start a b …` goes one by one, seconds each on a busy host). Killed ones are
   * started; running ones (a thawed, fenced region) are restarted, so their entrypoints rejoin as
   * standby like the killed ones do (see README). A paused one is unpaused first.
   */
  async restore(region: RegionName): Promise<void> {
    const all = await this.containers({ region }, []);
    const paused = await this.containers({ region }, ['--filter', 'status=paused']).catch(() => []);
    if (paused.length > 0)
      await this.exec('docker', ['unpause', ...paused], { timeoutMs: DOCKER_ACTION_TIMEOUT_MS });
    const exited = new Set(await this.containers({ region }, ['--filter', 'status=exited']).catch(() => []));
    await Promise.all(
      all.map((id) =>
        this.exec('docker', exited.has(id) ? ['start', id] : ['restart', '-t', '10', id], {
          timeoutMs: DOCKER_ACTION_TIMEOUT_MS,
        }),
      ),
    );
  }

  async status(): Promise<unknown> {
    const { stdout } = await this.exec('docker', [
      'ps',
      '--all',
      ...(this.project ? ['--filter', `label=${LABEL.project}=${this.project}`] : []),
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
      ...labelFilters(target, this.project),
      ...extra,
    ]);
    const ids = stdout.split(/\s+/).filter((id) => id !== '');
    if (ids.length === 0)
      throw new Error(`no container matches ${describeTarget(target)} (${extra.join(' ')})`);
    return ids;
  }
}
