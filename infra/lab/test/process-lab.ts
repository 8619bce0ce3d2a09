// For the fault plug-ins' tests: a lab context whose "components" are real, harmless processes (a
// shell sleeping in its own process group, one child below it, like a postmaster and a backend), so
// a fault's real signals land on real processes without a data tier to start.
import { rmSync } from 'node:fs';
import {
  type ComponentName,
  REPLICATION_MODE,
  type RegionName,
  type ServiceName,
} from '@failover-lab/contracts';
import { afterEach, beforeEach } from 'vitest';
import type { LabContext } from '../src/context';
import { LabPaths } from '../src/paths';
import { isRunning, processFamily, processState, spawnGroup, waitUntil } from '../src/process';
import { componentId, type Managed, ProcessTable } from '../src/processes';
import { loadOrCreateSecrets } from '../src/secrets';
import { makeTempStateDir } from '../src/test-data-tier';
import { topology } from '../src/topology';

export interface ProcessLab {
  ctx: LabContext;
  /**
   * a tracked stand-in for a component; an app is restarted after a crash, like the real ones. With
   * `backend`, it also starts a child in a session of its own (as a Postgres backend does), found only
   * by its parent.
   */
  start(
    region: RegionName,
    service: ServiceName,
    component: ComponentName,
    opts?: { backend?: boolean },
  ): Managed;
  entry(region: RegionName, service: ServiceName, component: ComponentName): Managed;
  /** every process of the entry's family is running (not stopped), or every one is stopped */
  running(entry: Managed): boolean;
  stopped(entry: Managed): boolean;
  /** resolves once the supervisor has seen the entry's process exit */
  exited(entry: Managed): Promise<void>;
  close(): Promise<void>;
}

export function processLab(): ProcessLab {
  const stateDir = makeTempStateDir('flab-faults-');
  const paths = new LabPaths(stateDir);
  paths.ensureBaseDirs();
  const processes = new ProcessTable(paths, () => {});
  const ctx: LabContext = {
    paths,
    // a subnet no lab uses: nothing here listens or connects
    topo: topology(255),
    secrets: loadOrCreateSecrets(paths.secretsFile),
    processes,
    components: [],
    controlPlane: 'edge',
    replication: { ...REPLICATION_MODE },
    probe: {},
    log: () => {},
  };
  // Stops on SIGTERM, and on SIGINT (a Postgres' fast shutdown), taking its child with it.
  const spawnSleeper = (id: string, backend = false) =>
    spawnGroup({
      command: 'sh',
      args: [
        '-c',
        backend
          ? "setsid sleep 600 & B=$!; trap 'kill 0 $B; exit 0' INT TERM; sleep 600 & wait"
          : "trap 'kill 0; exit 0' INT TERM; sleep 600 & wait",
      ],
      logFile: paths.log(id),
    });
  const family = (entry: Managed) => processFamily(entry.child.pid!);
  return {
    ctx,
    start(region, service, component, { backend = false } = {}) {
      const id = componentId(service, region, component);
      const respawn = component === 'app' ? () => spawnSleeper(id, backend) : undefined;
      return processes.track(id, component, spawnSleeper(id, backend), {
        service,
        region,
        logFile: paths.log(id),
        ...(respawn ? { respawn } : {}),
      });
    },
    entry: (region, service, component) => processes.get(componentId(service, region, component))!,
    running: (entry) =>
      family(entry).length > 0 && family(entry).every((p) => isRunning(p) && processState(p) !== 'T'),
    stopped: (entry) => family(entry).length > 0 && family(entry).every((p) => processState(p) === 'T'),
    exited: (entry) =>
      waitUntil(`${entry.id} to exit`, async () => processes.state(entry) === 'down', 5_000, 10),
    async close() {
      await processes.stopAll();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** A fresh process lab for each test of the calling file, closed after it. */
export function useProcessLab(): () => ProcessLab {
  let lab: ProcessLab | undefined;
  beforeEach(() => {
    lab = processLab();
  });
  afterEach(() => lab?.close());
  return () => lab!;
}
