// docker compose backend: containers are selected by the labels documented in infra/drill/README.md
// (the compose file sets them) and by compose's own project label, so two stacks on one engine never
// touch each other. docker-compose.yml publishes only the router, Prometheus and Grafana, so every
// per-cell call goes through `docker exec` into the cell's container (compose-cells.ts). Commands
// never go through a shell on this side. Tested against a real engine: infra/compose/test/.
import { execFile } from 'node:child_process';
import { basename, dirname } from 'node:path';
import {
  describeFault,
  describeTarget,
  type errorBody,
  type Fault,
  type FaultKind,
  type FaultTarget,
  type RegionName,
  type ServiceName,
} from '@failover-lab/contracts';
import type { Backend, CellAccess, CellAnswer, CellCall, FaultInjector, QuarantinedRow } from './backend';
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
  /** LINKS_TOKEN: the links container's control API (absent: link faults refuse, naming it) */
  linksToken?: string;
}

/** The links container's control API as docker-compose.yml publishes it (docs/docker.md, "Links"). */
export interface LinksControl {
  url: string;
  token: string | undefined;
}

/** docker-compose.yml publishes the links control API on this port (infra/compose/src/compose-file.ts) */
export const LINKS_CONTROL_PORT = 7071;

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

/** `docker ps` of the project's containers a target reaches, narrowed by `extra` filters (status=…). */
async function containers(
  exec: Exec,
  project: string | undefined,
  target: FaultTarget,
  extra: string[],
): Promise<string[]> {
  const { stdout } = await exec('docker', [
    'ps',
    '--all',
    '--quiet',
    ...labelFilters(target, project),
    ...extra,
  ]);
  const ids = stdout.split(/\s+/).filter((id) => id !== '');
  if (ids.length === 0)
    throw new Error(`no container matches ${describeTarget(target)} (${extra.join(' ')})`);
  return ids;
}

/** What a fault does in docker's words: one file's worth per kind, below. */
interface Docker {
  exec: Exec;
  containers(target: FaultTarget, extra: string[]): Promise<string[]>;
  act(args: string[]): Promise<unknown>;
  /** where the edge links take their faults */
  links: LinksControl;
}

type DockerFault = (docker: Docker, fault: Fault) => Promise<void>;

/**
 * A region or a data store: `docker kill` (the fire). Docker marks such a container as stopped by
 * hand, so no restart policy brings it back: it stays down until restore. An app alone is a crash:
 * its node process is SIGKILLed inside the container, the image's tini exits 137 and Docker's restart
 * policy restarts it in place, as the lab's supervisor does.
 */
const kill: DockerFault = async (docker, { target }) => {
  const ids = await docker.containers(target, ['--filter', 'status=running']);
  if (target.component === 'app') {
    // The exec's own shell dies with the container, so its exit status says nothing: what counts is
    // that the container exited (the restart policy takes it from there).
    await Promise.all(
      ids.map((id) =>
        docker
          .exec('docker', ['exec', id, 'bash', '-c', 'kill -KILL -1'], { timeoutMs: 10_000 })
          .catch(() => {}),
      ),
    );
    return;
  }
  // one CLI call: it kills the containers in parallel (a region dies at once, not one by one)
  await docker.act(['kill', '--signal', 'KILL', ...ids]);
};

const freeze: DockerFault = async (docker, { target }) => {
  await docker.act(['pause', ...(await docker.containers(target, ['--filter', 'status=running']))]);
};

const thaw: DockerFault = async (docker, { target }) => {
  await docker.act(['unpause', ...(await docker.containers(target, ['--filter', 'status=paused']))]);
};

/** How long a restore waits for the region's data tier, then for each app, to be healthy. */
const DATA_TIER_HEALTHY_TIMEOUT_MS = 120_000;
const APP_HEALTHY_TIMEOUT_MS = 90_000;

/**
 * The CPU weight of a container while a restore brings it back (Docker's default is 1024; the router
 * and the links container weigh 8192). A starting region — initdb or pg_rewind, node loading its
 * bundle, the apps' migrations — is work that can wait a little; the regions serving meanwhile
 * cannot. Set back to the default once the container is healthy (docs/docker.md, "restore").
 */
export const RESTORING_CPU_SHARES = 128;
const DEFAULT_CPU_SHARES = 1024;

/** Every container healthy (or without a health check), by `docker inspect`. */
async function allHealthy(docker: Docker, ids: string[]): Promise<boolean> {
  const { stdout } = await docker.exec('docker', [
    'inspect',
    '--format',
    '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}',
    ...ids,
  ]);
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .every((status) => status.trim() === 'healthy' || status.trim() === 'running');
}

async function waitHealthy(docker: Docker, ids: string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (ids.length > 0 && Date.now() < deadline) {
    if (await allHealthy(docker, ids).catch(() => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return ids.length === 0;
}

/**
 * Brings the region back as standby of the current primaries, gently, because the other region is
 * serving every request meanwhile on the same (busy, 2-core) host. A restore once failed with 17
 * client timeouts in the serving region while the restored region's three apps started together
 * (load ~20, docs/docker.md): so
 *   - every restored container starts at a low CPU weight (RESTORING_CPU_SHARES) and gets the default
 *     back once healthy: its start-up waits for CPU, the serving path does not;
 *   - first the data tier (Postgres and Redis, in parallel: `docker start a b …` would go one by one,
 *     seconds each on a busy host), then — once it is healthy, as `up` orders them — the apps ONE AT A
 *     TIME, each once the one before is healthy: never three node start-ups at once. (Started with
 *     their databases, the apps crashed and were restarted by the restart policy: more work for
 *     dockerd, which every container's name lookups go through.)
 * Killed containers are started; running ones (a thawed, fenced region) are restarted, so their
 * entrypoints rejoin as standby like the killed ones do (see README). A paused one is unpaused first.
 * What is not healthy in time is left to the drill's steady-state check, which says what did not come
 * back; the weights are set back whatever happens.
 */
const restore: DockerFault = async (docker, { target: { region } }) => {
  const all = await docker.containers({ region }, []);
  const paused = await docker.containers({ region }, ['--filter', 'status=paused']).catch(() => []);
  if (paused.length > 0) await docker.act(['unpause', ...paused]);
  const exited = new Set(await docker.containers({ region }, ['--filter', 'status=exited']).catch(() => []));
  const apps = new Set(await docker.containers({ region, component: 'app' }, []).catch(() => []));
  const bringBack = (ids: string[]) =>
    Promise.all(ids.map((id) => docker.act(exited.has(id) ? ['start', id] : ['restart', '-t', '10', id])));
  const weigh = (ids: string[], shares: number) =>
    ids.length === 0 ? Promise.resolve() : docker.act(['update', '--cpu-shares', String(shares), ...ids]);
  await weigh(all, RESTORING_CPU_SHARES);
  try {
    const dataTier = all.filter((id) => !apps.has(id));
    await bringBack(dataTier);
    await waitHealthy(docker, dataTier, DATA_TIER_HEALTHY_TIMEOUT_MS);
    await weigh(dataTier, DEFAULT_CPU_SHARES);
    for (const app of all.filter((id) => apps.has(id))) {
      await bringBack([app]);
      await waitHealthy(docker, [app], APP_HEALTHY_TIMEOUT_MS);
      await weigh([app], DEFAULT_CPU_SHARES);
    }
  } finally {
    await weigh(all, DEFAULT_CPU_SHARES).catch(() => {});
  }
};

const nothingToUndo: DockerFault = async () => {};

/**
 * Every link runs in the links container, the lab's own link proxy (docker-compose.yml): the edge
 * links (router → each region's cells) and the replication links (dc-a ⇄ dc-b, every standby's
 * Postgres and Redis stream). A link fault is one call to its control API, with the lab's names and
 * shapes; a link it does not know is refused there, by name.
 */
export async function linksCall(links: LinksControl, fault: Fault): Promise<void> {
  if (!links.token) {
    throw new Error(
      `${describeFault(fault)} needs LINKS_TOKEN (the links container's control token): in the ` +
        'environment or in the env file the stack was started with',
    );
  }
  const res = await fetch(`${links.url}/faults`, {
    method: 'POST',
    headers: { authorization: `Bearer ${links.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(fault),
    signal: AbortSignal.timeout(10_000),
  }).catch((err: Error) => {
    throw new Error(
      `${describeFault(fault)}: the links container did not answer at ${links.url}: ${err.message}`,
    );
  });
  if (!res.ok) {
    const payload = (await res.json().catch(() => ({}))) as Partial<ReturnType<typeof errorBody>>;
    throw new Error(
      `${describeFault(fault)}: links answered ${res.status} ${payload.error?.code ?? ''} ${payload.error?.message ?? ''}`.trim(),
    );
  }
}

const linkApply: DockerFault = (docker, fault) => linksCall(docker.links, fault);
/** Every link fault is undone by link_heal on its link (both directions, every service on it). */
const linkHeal: DockerFault = (docker, { target }) =>
  linksCall(docker.links, {
    kind: 'link_heal',
    target: {
      from: target.from,
      region: target.region,
      ...(target.service ? { service: target.service } : {}),
    } as FaultTarget,
  });
const linkFault = { apply: linkApply, reset: linkHeal };

/** Every fault of the contract's registry, in docker's words, with its reset. */
export const COMPOSE_FAULTS: Readonly<Record<FaultKind, { apply: DockerFault; reset: DockerFault }>> = {
  region_kill: { apply: kill, reset: restore },
  component_kill: { apply: kill, reset: restore },
  region_freeze: { apply: freeze, reset: thaw },
  region_thaw: { apply: thaw, reset: nothingToUndo },
  region_restore: { apply: restore, reset: nothingToUndo },
  link_latency: linkFault,
  link_bandwidth: linkFault,
  link_loss: linkFault,
  link_partition: linkFault,
  link_reset: linkFault,
  link_heal: linkFault,
};

/**
 * Where the Postgres image's entrypoint writes an old primary's forked rows before it rewinds it
 * (infra/compose/postgres/postgres-entrypoint.sh): on the container's volume, one JSON line per row as
 * the lab writes them (`{service, table, key, row}`).
 */
export const QUARANTINE_DIR = '/var/lib/postgresql/quarantine';

/** One quarantine file as `docker exec` read it; `file` is `<container name>:<path>`. */
export interface ComposeQuarantineFile {
  file: string;
  service: string;
  mtimeMs: number;
  lines: string[];
}

/**
 * Every quarantine file on the project's running Postgres containers (a stopped one is read once it
 * runs again: the files are on its volume). Two `docker exec` per file set, no shell on either side.
 */
export async function composeQuarantine(exec: Exec, project?: string): Promise<ComposeQuarantineFile[]> {
  const { stdout } = await exec('docker', [
    'ps',
    ...(project ? ['--filter', `label=${LABEL.project}=${project}`] : []),
    '--filter',
    `label=${LABEL.component}=postgres`,
    '--filter',
    'status=running',
    '--format',
    '{{.ID}} {{.Names}}',
  ]);
  const found: ComposeQuarantineFile[] = [];
  for (const line of stdout.split('\n').filter((l) => l.trim() !== '')) {
    const [id, name] = line.trim().split(' ') as [string, string];
    // from the postgres home, which always exists (the quarantine dir only once a row was forked)
    const listed = await exec(
      'docker',
      [
        'exec',
        id,
        'find',
        dirname(QUARANTINE_DIR),
        '-maxdepth',
        '2',
        '-path',
        `${QUARANTINE_DIR}/*.jsonl`,
        '-printf',
        '%T@ %p\\n',
      ],
      { timeoutMs: CELL_EXEC_TIMEOUT_MS },
    );
    for (const entry of listed.stdout.split('\n').filter((l) => l.trim() !== '')) {
      const [mtime, path] = [entry.slice(0, entry.indexOf(' ')), entry.slice(entry.indexOf(' ') + 1)];
      const { stdout: text } = await exec('docker', ['exec', id, 'cat', path], {
        timeoutMs: CELL_EXEC_TIMEOUT_MS,
      });
      found.push({
        file: `${name}:${path}`,
        // the entrypoint's (and the lab's) name: <service>-<region>-<time>.jsonl
        service: basename(path).split('-')[0]!,
        mtimeMs: Number(mtime) * 1000,
        lines: text.split('\n').filter((l) => l.trim() !== ''),
      });
    }
  }
  return found.sort((a, b) => a.mtimeMs - b.mtimeMs);
}

export class ComposeBackend implements Backend {
  readonly name = 'compose' as const;
  readonly faults: FaultInjector;
  readonly cells: CellAccess;
  private readonly exec: Exec;
  private readonly project: string | undefined;

  constructor(
    secrets: ComposeSecrets,
    /** the compose project (COMPOSE_PROJECT_NAME); every container outside it is left alone */
    project?: string,
    exec: Exec = execDocker,
    /** the links container's control API (default: published on 127.0.0.1) */
    linksUrl = `http://127.0.0.1:${LINKS_CONTROL_PORT}`,
  ) {
    const docker: Docker = {
      exec,
      containers: (target, extra) => containers(exec, project, target, extra),
      act: (args) => exec('docker', args, { timeoutMs: DOCKER_ACTION_TIMEOUT_MS }),
      links: { url: linksUrl, token: secrets.linksToken },
    };
    this.exec = exec;
    this.project = project;
    this.faults = {
      apply: (fault: Fault) => COMPOSE_FAULTS[fault.kind].apply(docker, fault),
      reset: (fault: Fault) => COMPOSE_FAULTS[fault.kind].reset(docker, fault),
      /** the containers as `docker ps` sees them, and the quarantine files as `lab status` lists them */
      status: async () => {
        const { stdout } = await exec('docker', [
          'ps',
          '--all',
          ...(project ? ['--filter', `label=${LABEL.project}=${project}`] : []),
          '--filter',
          `label=${LABEL.region}`,
          '--format',
          '{{json .}}',
        ]);
        const containers = stdout
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as unknown);
        const quarantine = (await composeQuarantine(exec, project)).map(({ file, service, lines }) => ({
          file,
          service,
          rows: lines.length,
        }));
        return { containers, quarantine };
      },
    };
    this.cells = new ComposeCells(secrets, docker);
  }

  /** The rows the Postgres entrypoints quarantined since `sinceMs` (files on the running containers). */
  async quarantined(sinceMs: number): Promise<QuarantinedRow[]> {
    const rows: QuarantinedRow[] = [];
    for (const { file, mtimeMs, lines } of await composeQuarantine(this.exec, this.project)) {
      if (mtimeMs < sinceMs) continue;
      for (const line of lines) {
        const { service, table, key } = JSON.parse(line) as Omit<QuarantinedRow, 'file'>;
        rows.push({ service: String(service), table: String(table), key: String(key), file });
      }
    }
    return rows;
  }
}

/** docker-compose.yml publishes no cell: every per-cell call is a `docker exec` into its container. */
class ComposeCells implements CellAccess {
  constructor(
    private readonly secrets: ComposeSecrets,
    private readonly docker: Docker,
  ) {}

  /**
   * `docker exec` into the cell's running app container, node fetches the app on the container's
   * loopback. A cell without a running container (killed, paused) or whose exec fails did not answer.
   */
  async cellHttp(service: ServiceName, region: RegionName, call: CellCall): Promise<CellAnswer> {
    try {
      const id = await this.onlyRunning({ region, service, component: 'app' });
      const { stdout } = await this.docker.exec('docker', cellFetchArgs(id, call), {
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
    const { stdout } = await this.docker.exec('docker', cellCountArgs(id, service, since), {
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
    const ids = await this.docker.containers(target, ['--filter', 'status=running']);
    if (ids.length > 1) throw new Error(`${ids.length} running containers match ${describeTarget(target)}`);
    return ids[0]!;
  }
}
