// The lab supervisor: owns every lab process (data stores, apps, router, Prometheus), brings them
// up, restarts crashed apps, and injects the faults (kill, freeze, thaw) and the repair (restore).
// It runs inside the detached daemon (daemon.ts); the CLI and LabClient talk to it over HTTP.
import type { ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CellNodes, cellNodes } from './cell-nodes';
import { appId, isPresent, type NodeComponent, nodeComponents, prometheusConfig } from './components';
import {
  bootstrapPrimary,
  bootstrapStandby,
  currentTimeline,
  isInitialized,
  isInRecovery,
  type PostgresNode,
  replicationInfo,
  roleOnDisk,
  startPostgres,
  waitPostgresReady,
  waitStreaming,
} from './datastores/postgres';
import {
  type RedisNode,
  redisCommand,
  redisReplicationInfo,
  startRedis,
  waitRedisLinked,
  waitRedisReady,
} from './datastores/redis';
import type { LabPaths } from './paths';
import {
  hasExited,
  isRunning,
  isStopped,
  processFamily,
  signalFamily,
  signalPids,
  sleep,
  spawnGroup,
  waitGone,
  waitUntil,
  writePidFile,
} from './process';
import { type PgObservation, planRestore } from './restore-plan';
import { type LabSecrets, loadOrCreateSecrets } from './secrets';
import type { CellStatus, LabStatus, ProcessState } from './status';
import {
  type ComponentName,
  otherRegion,
  REGIONS,
  type RegionName,
  SERVICES,
  type ServiceName,
  type Topology,
} from './topology';

type Kind = 'postgres' | 'redis' | 'app' | 'router' | 'console' | 'prometheus';
/** What the supervisor wants a process to be doing; only `running` ones are restarted. */
type Intent = 'running' | 'killed' | 'frozen' | 'stopped';

interface Managed {
  id: string;
  kind: Kind;
  service?: ServiceName;
  region?: RegionName;
  logFile: string;
  child: ChildProcess;
  intent: Intent;
  restarts: number;
  /** consecutive crashes, for the backoff; reset after a run that lasted */
  crashStreak: number;
  startedAt: number;
  restartTimer?: NodeJS.Timeout;
  /** apps and router: how to start a replacement after a crash */
  respawn?: () => ChildProcess;
}

/** A bring-up failure, naming the component and where its log is. */
export class ComponentFailure extends Error {
  constructor(
    readonly component: string,
    readonly logFile: string,
    cause: unknown,
  ) {
    super(
      `${component} did not come up: ${cause instanceof Error ? cause.message : String(cause)} (log: ${logFile})`,
    );
  }
}

/**
 * Like Promise.all, but waits for every task to settle before rejecting with the first failure:
 * a failed `up` must not stop everything while a sibling step is still about to spawn a process.
 */
async function settleAll(tasks: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export interface FaultTarget {
  service?: ServiceName;
  component?: ComponentName;
}

// tsx compiles each app at start: at load 30 on 2 cores one took over 45 s (LAB_APP_READY_TIMEOUT_MS).
const APP_READY_TIMEOUT_MS = Number(process.env.LAB_APP_READY_TIMEOUT_MS) || 45_000;
const RESTART_BACKOFF_MS = { first: 250, max: 10_000, stableAfter: 10_000 };
/** how long restore keeps asking a running Postgres whether it is in recovery before calling it unknown */
const RESTORE_OBSERVE_MS = 10_000;

export class Supervisor {
  private readonly managed = new Map<string, Managed>();
  private readonly secrets: LabSecrets;
  private stopping = false;
  readonly startedAt = Date.now();
  private components: NodeComponent[] = [];

  constructor(
    readonly paths: LabPaths,
    readonly topo: Topology,
    private readonly log: (line: string) => void = () => {},
  ) {
    paths.ensureBaseDirs();
    this.secrets = loadOrCreateSecrets(paths.secretsFile);
  }

  cell(service: ServiceName, region: RegionName): CellNodes {
    return cellNodes(this.paths, this.topo.subnet, this.topo.ports, service, region);
  }

  // ---------------------------------------------------------------- process bookkeeping

  private track(
    id: string,
    kind: Kind,
    child: ChildProcess,
    meta: { service?: ServiceName; region?: RegionName; logFile: string; respawn?: () => ChildProcess },
  ): Managed {
    const previous = this.managed.get(id);
    const entry: Managed = {
      id,
      kind,
      child,
      intent: 'running',
      restarts: previous?.restarts ?? 0,
      crashStreak: previous?.crashStreak ?? 0,
      startedAt: Date.now(),
      ...meta,
    };
    this.managed.set(id, entry);
    writePidFile(this.paths.pidFile(id), child.pid!);
    // a step still in flight when a failed `up` stopped everything must not leave a process behind
    if (this.stopping) void this.stopComponent(entry, 'SIGKILL');
    child.once('exit', (code, signal) => this.onExit(entry, code, signal));
    return entry;
  }

  private onExit(entry: Managed, code: number | null, signal: NodeJS.Signals | null) {
    if (this.managed.get(entry.id)?.child !== entry.child) return; // an older incarnation
    rmSync(this.paths.pidFile(entry.id), { force: true });
    if (this.stopping || entry.intent !== 'running') return;
    const how = signal ?? `code ${code}`;
    if (!entry.respawn) {
      // A data store or Prometheus that dies stays dead: that is a fault for the router to handle.
      this.log(`${entry.id} exited (${how}); not restarted (log: ${entry.logFile})`);
      return;
    }
    // A crash is not a region loss: restart in place, with backoff.
    if (Date.now() - entry.startedAt > RESTART_BACKOFF_MS.stableAfter) entry.crashStreak = 0;
    const delay = Math.min(RESTART_BACKOFF_MS.max, RESTART_BACKOFF_MS.first * 2 ** entry.crashStreak);
    entry.crashStreak++;
    this.log(`${entry.id} crashed (${how}); restarting in ${delay} ms`);
    entry.restartTimer = setTimeout(() => {
      entry.restartTimer = undefined;
      if (this.stopping || entry.intent !== 'running' || this.managed.get(entry.id) !== entry) return;
      this.respawn(entry);
    }, delay);
  }

  private respawn(entry: Managed) {
    const { service, region, logFile, respawn } = entry;
    const next = this.track(entry.id, entry.kind, respawn!(), { service, region, logFile, respawn });
    next.restarts = entry.restarts + 1;
  }

  private alive(entry: Managed | undefined): entry is Managed {
    return entry !== undefined && !hasExited(entry.child);
  }

  private entriesOf(region: RegionName, target: FaultTarget = {}): Managed[] {
    return [...this.managed.values()].filter(
      (m) =>
        m.region === region &&
        (target.service === undefined || m.service === target.service) &&
        (target.component === undefined || m.kind === target.component),
    );
  }

  // ---------------------------------------------------------------- starting components

  private async startPostgresNode(node: PostgresNode): Promise<void> {
    const child = startPostgres(node);
    this.trackPostgres(node)(child);
    await waitPostgresReady(node, child);
  }

  /** For the bootstrap helpers, which spawn the postmaster themselves. */
  private trackPostgres(node: PostgresNode) {
    return (child: ChildProcess) =>
      this.track(`${node.service}-${node.region}-postgres`, 'postgres', child, {
        service: node.service,
        region: node.region,
        logFile: node.logFile,
      });
  }

  private async startRedisNode(node: RedisNode, replicaOf?: RedisNode): Promise<void> {
    const id = `${node.service}-${node.region}-redis`;
    const child = startRedis(node, replicaOf);
    this.track(id, 'redis', child, { service: node.service, region: node.region, logFile: node.logFile });
    await waitRedisReady(node, child);
    if (replicaOf) await waitRedisLinked(node);
  }

  private spawnNodeComponent(component: NodeComponent): ChildProcess {
    component.prepare?.();
    return spawnGroup({
      command: process.execPath,
      args: ['--import', 'tsx', component.entryFile],
      env: component.env,
      cwd: join(component.entryFile, '..', '..'),
      logFile: component.logFile,
    });
  }

  private async startNodeComponent(component: NodeComponent): Promise<void> {
    const respawn = () => this.spawnNodeComponent(component);
    const entry = this.track(component.id, component.kind, respawn(), {
      service: component.service,
      region: component.region,
      logFile: component.logFile,
      respawn,
    });
    await waitUntil(
      `${component.id} GET /health/live → 200`,
      async () => (await fetch(`${component.url}/health/live`, { signal: AbortSignal.timeout(1_000) })).ok,
      APP_READY_TIMEOUT_MS,
      100,
      entry.child,
    );
  }

  private async startPrometheus(scraped: NodeComponent[]): Promise<void> {
    const configFile = join(this.paths.edgeDir, 'prometheus.yml');
    writeFileSync(configFile, prometheusConfig(scraped));
    const logFile = this.paths.log('prometheus');
    const child = spawnGroup({
      command: 'prometheus',
      args: [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(this.paths.edgeDir, 'prometheus-data')}`,
        `--web.listen-address=${this.topo.edge.host}:${this.topo.ports.prometheus}`,
        '--web.enable-remote-write-receiver',
      ],
      logFile,
    });
    const entry = this.track('prometheus', 'prometheus', child, { logFile });
    await waitUntil(
      'prometheus /-/ready',
      async () =>
        (await fetch(`${this.topo.edge.prometheusUrl}/-/ready`, { signal: AbortSignal.timeout(1_000) })).ok,
      30_000,
      100,
      entry.child,
    );
  }

  // ---------------------------------------------------------------- up

  /** Brings the whole lab up; on any failure stops what it started and throws ComponentFailure. */
  async up(progress: (line: string) => void): Promise<void> {
    const t0 = Date.now();
    const step = async (id: string, logFile: string, detail: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (err) {
        throw err instanceof ComponentFailure ? err : new ComponentFailure(id, logFile, err);
      }
      progress(`  ok  ${id.padEnd(24)} ${detail.padEnd(30)} +${Date.now() - t0} ms`);
    };
    try {
      const registry = nodeComponents({
        paths: this.paths,
        topo: this.topo,
        secrets: this.secrets,
        cell: (s, r) => this.cell(s, r),
      });
      // LAB_SKIP_APPS=1: the data tier and Prometheus only (the lab's own data-tier tests).
      // The console only when asked (LAB_CONSOLE=1: `lab up`), not in every test lab.
      this.components =
        process.env.LAB_SKIP_APPS === '1'
          ? []
          : registry.filter((c) => c.kind !== 'console' || process.env.LAB_CONSOLE === '1');
      const present = this.components.filter(isPresent);
      const unasked = (c: NodeComponent) => c.kind === 'console' && process.env.LAB_CONSOLE !== '1';
      for (const skipped of registry.filter((c) => !present.includes(c) && !unasked(c))) {
        const why = this.components.length ? 'absent (no entry file yet)' : 'skipped (LAB_SKIP_APPS=1)';
        progress(`  --  ${skipped.id.padEnd(24)} ${why.padEnd(30)} skipped`);
      }
      // Each service's apps start as soon as its own data tier is ready; Prometheus needs nothing.
      await settleAll([
        step('prometheus', this.paths.log('prometheus'), this.topo.edge.prometheusUrl, () =>
          this.startPrometheus(present),
        ),
        ...SERVICES.map(async (service) => {
          await this.upCell(service, step);
          const apps = present.filter((c) => c.kind === 'app' && c.service === service);
          await settleAll(apps.map((c) => step(c.id, c.logFile, c.url, () => this.startNodeComponent(c))));
        }),
      ]);
      // The router last: started earlier, it would see cells still booting as dead and fail over.
      // The console beside it (it only reads the router and the lab over HTTP).
      await settleAll(
        present
          .filter((c) => c.kind === 'router' || c.kind === 'console')
          .map((c) => step(c.id, c.logFile, c.url, () => this.startNodeComponent(c))),
      );
    } catch (err) {
      await this.stopAll();
      throw err;
    }
  }

  private async upCell(
    service: ServiceName,
    step: (id: string, logFile: string, detail: string, work: () => Promise<unknown>) => Promise<void>,
  ) {
    const a = this.cell(service, 'dc-a');
    const b = this.cell(service, 'dc-b');
    const pgStep = (c: CellNodes, detail: string, work: () => Promise<unknown>) =>
      step(`${service}-${c.region}-postgres`, c.postgres.logFile, detail, work);
    const redisStep = (c: CellNodes, detail: string, work: () => Promise<unknown>) =>
      step(`${service}-${c.region}-redis`, c.redis.logFile, detail, work);

    if (!isInitialized(a.postgres) && !isInitialized(b.postgres)) {
      // Cold: dc-a primary, dc-b streaming standby; each Redis alongside its Postgres.
      await settleAll([
        pgStep(a, 'primary (initdb)', () =>
          bootstrapPrimary(a.postgres, this.secrets, 'dc-b', this.trackPostgres(a.postgres)),
        ),
        redisStep(a, 'master', () => this.startRedisNode(a.redis)),
      ]);
      await settleAll([
        pgStep(b, 'standby (pg_basebackup)', () =>
          bootstrapStandby(b.postgres, a.postgres, this.secrets, this.trackPostgres(b.postgres)),
        ),
        redisStep(b, 'replica of dc-a', () => this.startRedisNode(b.redis, a.redis)),
      ]);
      return;
    }
    const primary = await this.upCellWarm(a, b, pgStep);
    const replica = primary === a ? b : a;
    await redisStep(primary, 'master', () => this.startRedisNode(primary.redis));
    await redisStep(replica, `replica of ${primary.region}`, () =>
      this.startRedisNode(replica.redis, primary.redis),
    );
  }

  /** Warm start: the data dirs keep the roles they had (standby.signal decides). */
  private async upCellWarm(
    a: CellNodes,
    b: CellNodes,
    pgStep: (c: CellNodes, detail: string, work: () => Promise<unknown>) => Promise<void>,
  ): Promise<CellNodes> {
    const initialized = [a, b].filter((c) => isInitialized(c.postgres));
    await settleAll(
      initialized.map((c) =>
        pgStep(c, `${roleOnDisk(c.postgres)} (warm)`, () => this.startPostgresNode(c.postgres)),
      ),
    );
    const primaries: CellNodes[] = [];
    for (const c of initialized) if (!(await isInRecovery(c.postgres))) primaries.push(c);
    if (primaries.length === 0) {
      throw new ComponentFailure(
        `${a.service}-postgres`,
        a.postgres.logFile,
        new Error('no primary on disk (both standby); `npm run lab -- down --wipe` starts afresh'),
      );
    }
    let primary = primaries[0]!;
    if (primaries.length === 2) {
      // A failover happened and the old primary was never restored: the newer timeline wins and
      // the stale node is rebuilt as its standby (never two primaries).
      const [tlA, tlB] = [await currentTimeline(a.postgres), await currentTimeline(b.postgres)];
      primary = tlB > tlA ? b : a;
    }
    const standby = primary === a ? b : a;
    if (primaries.includes(standby) || !isInitialized(standby.postgres)) {
      await this.stopComponent(this.managed.get(`${standby.service}-${standby.region}-postgres`));
      await pgStep(standby, `standby of ${primary.region} (rebuilt)`, () =>
        bootstrapStandby(
          standby.postgres,
          primary.postgres,
          this.secrets,
          this.trackPostgres(standby.postgres),
        ),
      );
    } else {
      await waitStreaming(primary.postgres, standby.region);
    }
    return primary;
  }

  // ---------------------------------------------------------------- faults

  /**
   * SIGKILL to every process group of the region (or the narrower target) at once. Killing only
   * apps counts as a crash (the supervisor restarts them); anything else stays dead until restore.
   */
  async kill(region: RegionName, target: FaultTarget = {}) {
    const crash = target.component === 'app';
    const targets = this.entriesOf(region, target);
    // Settle the dead ones too: an app waiting out its restart backoff would otherwise come back up
    // inside a region that was just killed.
    if (!crash) for (const m of targets) this.settle(m, 'killed');
    const victims = targets.filter((m) => this.alive(m));
    const reached = victims.flatMap((m) => signalFamily(m.child.pid!, 'SIGKILL'));
    await waitGone(reached, 5_000);
    return { region, killed: victims.map((m) => m.id) };
  }

  async freeze(region: RegionName) {
    const victims = this.entriesOf(region).filter((m) => this.alive(m));
    const reached: number[] = [];
    for (const m of victims) {
      this.settle(m, 'frozen');
      reached.push(...signalFamily(m.child.pid!, 'SIGSTOP'));
    }
    // An app waiting out its restart backoff must not start inside a frozen region: its restart
    // waits for the thaw.
    for (const m of this.entriesOf(region)) {
      if (m.restartTimer && m.intent === 'running') this.settle(m, 'frozen');
    }
    // kill() returns before the kernel stops the target (one in disk sleep stops when it wakes):
    // answer once every process really is stopped, so callers can rely on it.
    await waitUntil(
      'the region to stop',
      async () => reached.every((p) => isStopped(p) || !isRunning(p)),
      5_000,
      10,
    );
    return { region, frozen: victims.map((m) => m.id) };
  }

  async thaw(region: RegionName) {
    const frozen = this.entriesOf(region).filter((m) => m.intent === 'frozen');
    for (const m of frozen) {
      m.intent = 'running';
      if (!hasExited(m.child)) signalFamily(m.child.pid!, 'SIGCONT');
      // a dead one had crashed and was due a restart when the freeze came
      else if (m.respawn) this.respawn(m);
    }
    return { region, thawed: frozen.map((m) => m.id) };
  }

  /** Sets an intent that stops restarts, and cancels a pending restart. */
  private settle(m: Managed, intent: Intent) {
    m.intent = intent;
    if (m.restartTimer) clearTimeout(m.restartTimer);
    m.restartTimer = undefined;
  }

  /**
   * Brings a dead or fenced region back, cell by cell. A cell whose Postgres is down, frozen, or a
   * second primary (fenced old primary) is rebuilt: its processes are killed and, if the other
   * region holds the primary, a fresh pg_basebackup (new slot) makes it that primary's standby,
   * Redis restarts as replica of the current master; if no failover happened it comes back as the
   * primary it was. A healthy cell (a primary with a standby partner, or a standby of a live
   * primary) is left running — killing it would hand the router a failover to race with — and
   * only its dead Redis or app are restarted.
   */
  async restore(region: RegionName) {
    const t0 = Date.now();
    const roles: Record<string, string> = {};
    await settleAll(
      SERVICES.map(async (service) => {
        roles[service] = await this.restoreCell(service, region);
      }),
    );
    return { region, roles, ms: Date.now() - t0 };
  }

  private async restoreCell(service: ServiceName, region: RegionName): Promise<string> {
    const other = otherRegion(region);
    const here = this.cell(service, region);
    const there = this.cell(service, other);
    const id = (r: RegionName, kind: Kind) => `${service}-${r}-${kind}`;
    const [hereState, otherState] = await Promise.all([
      this.observePostgres(this.managed.get(id(region, 'postgres')), here.postgres),
      this.observePostgres(this.managed.get(id(other, 'postgres')), there.postgres),
    ]);
    const plan = planRestore(
      {
        here: hereState,
        other: otherState,
        hereOnDisk: isInitialized(here.postgres) ? roleOnDisk(here.postgres) : null,
      },
      { here: region, other },
    );
    switch (plan.kind) {
      case 'refuse':
        throw new Error(`${service}: ${plan.reason}`);
      case 'keep': {
        if (!this.alive(this.managed.get(id(region, 'redis')))) {
          await this.startRedisNode(here.redis, plan.as === 'standby' ? there.redis : undefined);
        }
        await this.startAppOf(service, region);
        return plan.as === 'primary' ? 'primary (healthy, kept)' : `standby of ${other} (healthy, kept)`;
      }
      case 'rebuild_standby': {
        await settleAll(this.entriesOf(region, { service }).map((m) => this.stopComponent(m, 'SIGKILL')));
        await bootstrapStandby(
          here.postgres,
          there.postgres,
          this.secrets,
          this.trackPostgres(here.postgres),
        );
        await this.alignRedisMaster(there.redis);
        await this.startRedisNode(here.redis, there.redis);
        await this.startAppOf(service, region);
        return `standby of ${other}`;
      }
      case 'restart_primary': {
        await settleAll(this.entriesOf(region, { service }).map((m) => this.stopComponent(m, 'SIGKILL')));
        await this.startPostgresNode(here.postgres);
        await this.startRedisNode(here.redis);
        await this.startAppOf(service, region);
        return 'primary (no failover happened)';
      }
    }
  }

  /**
   * What restore needs to know of a Postgres node. A running node gets several tries before it is
   * called `unknown`: on a machine at load 6-7 a single connection can miss a 2 s timeout.
   */
  private async observePostgres(m: Managed | undefined, node: PostgresNode): Promise<PgObservation> {
    if (!this.alive(m)) return 'absent';
    if (isStopped(m.child.pid!)) return 'frozen';
    const deadline = Date.now() + RESTORE_OBSERVE_MS;
    for (;;) {
      const inRecovery = await isInRecovery(node).catch(() => undefined);
      if (inRecovery !== undefined) return inRecovery ? 'standby' : 'primary';
      if (!this.alive(m)) return 'absent';
      if (Date.now() >= deadline) return 'unknown';
      await sleep(250);
    }
  }

  /** Redis follows Postgres: the master is where the primary is (the cell promotes both). */
  private async alignRedisMaster(master: RedisNode) {
    const info = await redisReplicationInfo(master).catch(() => undefined);
    if (info?.role === 'replica') await redisCommand(master, 'REPLICAOF', ['NO', 'ONE']);
  }

  /** Starts the cell's app (if it exists and is not running already). */
  private async startAppOf(service: ServiceName, region: RegionName) {
    const app = this.components.find((c) => c.id === appId(service, region) && isPresent(c));
    const running = this.managed.get(appId(service, region));
    if (!app || (this.alive(running) && running.intent === 'running')) return;
    await this.startNodeComponent(app);
  }

  // ---------------------------------------------------------------- stop

  /** Stops one component: politely first (Postgres: fast shutdown), then SIGKILL. */
  private async stopComponent(m: Managed | undefined, signal: NodeJS.Signals = 'SIGTERM') {
    if (!m) return;
    this.settle(m, 'stopped');
    // An exited leader's pid may already belong to someone else: never signal it.
    const family = this.alive(m) ? processFamily(m.child.pid!) : [];
    const t0 = Date.now();
    if (family.length) {
      signalPids(family, 'SIGCONT'); // a frozen process cannot act on SIGTERM
      if (signal === 'SIGKILL') signalFamily(m.child.pid!, 'SIGKILL');
      // Postgres: SIGINT to the postmaster alone = fast shutdown (it tells its backends).
      else if (m.kind === 'postgres') m.child.kill('SIGINT');
      else signalPids(family, signal);
      if (!(await waitGone(family, m.kind === 'postgres' ? 15_000 : 5_000))) {
        signalPids(family, 'SIGKILL');
        await waitGone(family, 5_000);
      }
      this.log(`${m.id} stopped (${signal === 'SIGKILL' ? 'killed' : 'shut down'}) in ${Date.now() - t0} ms`);
    }
    rmSync(this.paths.pidFile(m.id), { force: true });
  }

  /** Stops everything: node components first (they hold connections), then the data tier. */
  async stopAll() {
    this.stopping = true;
    const all = [...this.managed.values()];
    const nodeKinds: Kind[] = ['app', 'router', 'console'];
    await Promise.all(all.filter((m) => nodeKinds.includes(m.kind)).map((m) => this.stopComponent(m)));
    await Promise.all(all.filter((m) => !nodeKinds.includes(m.kind)).map((m) => this.stopComponent(m)));
  }

  // ---------------------------------------------------------------- status

  private processState(m: Managed | undefined): ProcessState {
    if (!this.alive(m)) return 'down';
    return isStopped(m.child.pid!) ? 'frozen' : 'up';
  }

  async status(): Promise<LabStatus> {
    const cells = await Promise.all(
      SERVICES.flatMap((service) => REGIONS.map((region) => this.cellStatus(service, region))),
    );
    const router = this.managed.get('router');
    const prometheus = this.managed.get('prometheus');
    const labConsole = this.managed.get('console');
    const consoleWanted = this.components.some((c) => c.kind === 'console' && isPresent(c));
    const routerPresent = this.components.some((c) => c.kind === 'router' && isPresent(c));
    return {
      subnet: this.topo.subnet,
      stateDir: this.paths.stateDir,
      supervisor: { pid: process.pid, uptimeMs: Date.now() - this.startedAt },
      cells,
      edge: {
        host: this.topo.edge.host,
        router: {
          state: router ? this.processState(router) : routerPresent ? 'down' : 'absent',
          url: this.topo.edge.routerUrl,
          restarts: router?.restarts ?? 0,
          pid: this.alive(router) ? router.child.pid! : null,
        },
        prometheus: {
          state: this.processState(prometheus),
          url: this.topo.edge.prometheusUrl,
          pid: this.alive(prometheus) ? prometheus.child.pid! : null,
        },
        control: { url: this.topo.edge.controlUrl },
        console: {
          state: labConsole ? this.processState(labConsole) : consoleWanted ? 'down' : 'absent',
          url: this.topo.edge.consoleUrl,
          pid: this.alive(labConsole) ? labConsole.child.pid! : null,
        },
      },
    };
  }

  private async cellStatus(service: ServiceName, region: RegionName): Promise<CellStatus> {
    const nodes = this.cell(service, region);
    const pg = this.managed.get(`${service}-${region}-postgres`);
    const redis = this.managed.get(`${service}-${region}-redis`);
    const app = this.managed.get(appId(service, region));
    const pgState = this.processState(pg);
    const redisState = this.processState(redis);

    const postgres: CellStatus['postgres'] = {
      role: pgState === 'up' ? 'down' : pgState,
      lagBytes: null,
      replication: pgState,
      pid: this.alive(pg) ? pg.child.pid! : null,
      address: `${nodes.postgres.host}:${nodes.postgres.port}`,
    };
    if (pgState === 'up') {
      const info = await replicationInfo(nodes.postgres).catch(() => undefined);
      if (info)
        Object.assign(postgres, { role: info.role, lagBytes: info.lagBytes, replication: info.replication });
      else postgres.replication = 'not answering';
    }

    const redisStatus: CellStatus['redis'] = {
      role: redisState === 'up' ? 'down' : redisState,
      link: redisState,
      pid: this.alive(redis) ? redis.child.pid! : null,
      address: `${nodes.redis.host}:${nodes.redis.port}`,
    };
    if (redisState === 'up') {
      const info = await redisReplicationInfo(nodes.redis).catch(() => undefined);
      if (info) Object.assign(redisStatus, { role: info.role, link: info.link });
      else redisStatus.link = 'not answering';
    }

    const appPresent = this.components.some((c) => c.id === appId(service, region) && isPresent(c));
    return {
      service,
      region,
      host: nodes.host,
      postgres,
      redis: redisStatus,
      app: {
        state: app ? this.processState(app) : appPresent ? 'down' : 'absent',
        restarts: app?.restarts ?? 0,
        pid: this.alive(app) ? app.child.pid! : null,
        url: `http://${nodes.host}:${this.topo.ports.app}`,
      },
    };
  }
}
