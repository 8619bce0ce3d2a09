// Starting and stopping a whole lab: the CLI's `up`/`down` and the tests' startLab()/stopLab().
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ControlPlanePlacement,
  type ProbeConfig,
  SERVICES,
  type ServiceTopology,
} from '@failover-lab/contracts';
import { ensureBundles, nodeArgsFor } from './bundles';
import { LabClient } from './client';
import type { DaemonMessage } from './daemon';
import { sweepKernelRules } from './link-rules';
import { LabPaths, REPO_ROOT } from './paths';
import { isAlive, killFamily, livePidFromFile, sleep } from './process';
import { type ReplicationModes, replicationEnv } from './replication';
import { leaseSubnet, releaseSubnet } from './subnet-lease';
import { makeTempStateDir } from './test-data-tier';
import { DEFAULT_PORTS, type Ports, topology } from './topology';

export interface StartLabOptions {
  /** default: a fresh temp dir (tests) */
  stateDir?: string;
  /** default: a free one of 100-250, leased while the lab runs (tests) */
  subnet?: number;
  ports?: Partial<Ports>;
  /** false: data tier and Prometheus only, no apps or router (default true) */
  apps?: boolean;
  /** start the lab console on the edge too (`lab up` does; test labs only when they ask) */
  console?: boolean;
  /** messaging's topology at the first `up` (a warm lab keeps the one it was made with) */
  messagingTopology?: ServiceTopology;
  /**
   * where the router (with its state) and Prometheus run: the edge (default), or inside a region, where
   * that region's kill takes them down too (the control-plane drill)
   */
  controlPlane?: ControlPlanePlacement;
  /** replication overrides (the sync/async comparison: payments async); default the contract's */
  replication?: Partial<ReplicationModes>;
  /** the router's probe knobs (the detection sweep); default the router's own */
  probe?: Partial<ProbeConfig>;
  onProgress?: (line: string) => void;
}

export interface StartedLab {
  client: LabClient;
  /** false when a supervisor was already running for this state dir (nothing was started) */
  started: boolean;
}

const DAEMON_ENTRY = join(REPO_ROOT, 'infra', 'lab', 'src', 'daemon.ts');

/** Spawns the supervisor daemon and resolves once every component is ready. */
export async function launchLab(opts: StartLabOptions = {}): Promise<StartedLab> {
  const stateDir = opts.stateDir ?? makeTempStateDir('flab-lab-');
  const lease = await leaseSubnet(opts.subnet);
  const { subnet } = lease;
  const ports: Ports = { ...DEFAULT_PORTS, ...opts.ports };
  const paths = new LabPaths(stateDir);
  paths.ensureBaseDirs();

  const runningPid = livePidFromFile(paths.supervisorPidFile);
  if (runningPid !== undefined) {
    // Already running (or still starting, from another `up`): wait for it rather than start twice.
    const running = LabClient.forStateDir(stateDir);
    const deadline = Date.now() + 180_000;
    while (isAlive(runningPid) && Date.now() < deadline) {
      if (await running.isReady()) {
        lease.release();
        return { client: running, started: false };
      }
      await sleep(250);
    }
  }

  const client = new LabClient(topology(subnet, ports), stateDir);
  const logFd = openSync(paths.log('supervisor'), 'a', 0o644);
  // Every Node process of the lab from a current bundle: one esbuild run here instead of a tsx compile
  // per process (seven of them on 2 cores). Stale or missing bundles are rebuilt; see bundles.ts.
  ensureBundles(
    [
      DAEMON_ENTRY,
      ...SERVICES.map((s) => join(REPO_ROOT, 'services', s, 'src', 'server.ts')),
      join(REPO_ROOT, 'infra', 'router', 'src', 'server.ts'),
      join(REPO_ROOT, 'infra', 'links', 'src', 'server.ts'),
      ...(opts.console ? [join(REPO_ROOT, 'infra', 'console', 'src', 'server.ts')] : []),
    ],
    opts.onProgress,
  );
  const daemon = spawn(process.execPath, nodeArgsFor(DAEMON_ENTRY), {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', logFd, logFd, 'ipc'],
    env: {
      ...process.env,
      LAB_STATE_DIR: stateDir,
      LAB_SUBNET: String(subnet),
      LAB_APP_PORT: String(ports.app),
      LAB_PG_PORT: String(ports.postgres),
      LAB_REDIS_PORT: String(ports.redis),
      LAB_ROUTER_PORT: String(ports.router),
      LAB_PROMETHEUS_PORT: String(ports.prometheus),
      LAB_CONTROL_PORT: String(ports.control),
      LAB_CONSOLE_PORT: String(ports.console),
      LAB_LINKS_PORT: String(ports.links),
      LAB_CONSOLE: opts.console ? '1' : '',
      LAB_CONTROL_PLANE: opts.controlPlane ?? process.env.LAB_CONTROL_PLANE ?? 'edge',
      LAB_REPLICATION: opts.replication
        ? replicationEnv(opts.replication)
        : (process.env.LAB_REPLICATION ?? ''),
      LAB_ROUTER_PROBE: opts.probe ? JSON.stringify(opts.probe) : (process.env.LAB_ROUTER_PROBE ?? ''),
      LAB_SKIP_APPS: opts.apps === false ? '1' : (process.env.LAB_SKIP_APPS ?? ''),
      ...(opts.messagingTopology ? { LAB_MESSAGING_TOPOLOGY: opts.messagingTopology } : {}),
    },
  });
  closeSync(logFd);
  try {
    await new Promise<void>((resolve, reject) => {
      daemon.on('message', (message: DaemonMessage) => {
        if (message.type === 'progress') opts.onProgress?.(message.line);
        else if (message.type === 'ready') resolve();
        else reject(new Error(message.message));
      });
      daemon.once('exit', (code, signal) =>
        reject(
          new Error(`lab supervisor exited (${signal ?? `code ${code}`}); see ${paths.log('supervisor')}`),
        ),
      );
      daemon.once('error', reject);
    });
  } catch (err) {
    lease.release();
    throw err;
  } finally {
    if (daemon.connected) daemon.disconnect();
    daemon.unref();
  }
  lease.transfer(daemon.pid!);
  return { client, started: true };
}

/** Programmatic lab for tests: a fresh state dir and subnet unless given. */
export async function startLab(opts: StartLabOptions = {}): Promise<LabClient> {
  return (await launchLab(opts)).client;
}

/** Stops a lab (through its supervisor, else from the pid files); `wipe` removes its state too. */
export async function stopLab(stateDirOrClient: string | LabClient, opts: { wipe?: boolean } = {}) {
  const stateDir = typeof stateDirOrClient === 'string' ? stateDirOrClient : stateDirOrClient.stateDir;
  const paths = new LabPaths(stateDir);
  const labFile = join(paths.runDir, 'lab.json');
  // the last supervisor's subnet and pid: its subnet lease is released with it
  const lastRun = existsSync(labFile)
    ? (JSON.parse(readFileSync(labFile, 'utf8')) as { subnet: number; pid: number })
    : undefined;
  if (livePidFromFile(paths.supervisorPidFile) !== undefined) {
    const client = typeof stateDirOrClient === 'string' ? LabClient.forStateDir(stateDir) : stateDirOrClient;
    await client.down().catch(() => {});
  }
  const leftovers = await killFromPidFiles(paths);
  if (lastRun) {
    // a links process killed above had no chance to remove its iptables rules
    await sweepKernelRules(lastRun.subnet);
    releaseSubnet(lastRun.subnet, lastRun.pid);
  }
  if (opts.wipe) {
    rmSync(stateDir, { recursive: true, force: true });
    for (const dir of paths.socketFallbackDirs()) rmSync(dir, { recursive: true, force: true });
  }
  return { leftovers };
}

/**
 * The supervisor is gone (or did not finish): SIGKILL every process family a pid file names, after
 * checking that pid still is the process we started (same start time).
 */
export async function killFromPidFiles(paths: LabPaths): Promise<string[]> {
  if (!existsSync(paths.runDir)) return [];
  const killed: string[] = [];
  const supervisorPid = livePidFromFile(paths.supervisorPidFile);
  if (supervisorPid !== undefined) {
    await killFamily(supervisorPid);
    killed.push('supervisor');
  }
  const files = readdirSync(paths.runDir).filter((f) => f.endsWith('.pid') && f !== 'supervisor.pid');
  await Promise.all(
    files.map(async (file) => {
      const pid = livePidFromFile(join(paths.runDir, file));
      if (pid !== undefined) {
        killed.push(file.replace(/\.pid$/, ''));
        await killFamily(pid);
      }
      rmSync(join(paths.runDir, file), { force: true });
    }),
  );
  return killed;
}
