// Starting the lab's processes: the whole lab at `up` (cold from initdb, or warm from the data dirs
// the last run left), and single components for restore.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ControlPlanePlacement,
  type ProbeConfig,
  REPLICATION_MODE,
  type RegionName,
  SERVICES,
  type ServiceName,
} from '@failover-lab/contracts';
import { ensureSubscriptions } from './active-active';
import { nodeArgsFor } from './bundles';
import type { CellNodes } from './cell-nodes';
import {
  controlPlaneRegion,
  linksComponent,
  linksStateFile,
  type NodeComponent,
  nodeComponents,
  prometheusConfig,
} from './components';
import { cellOf, type LabContext } from './context';
import {
  bootstrapPrimary,
  bootstrapStandby,
  enforceFenceOnDisk,
  initdb,
  isInitialized,
  isInRecovery,
  type PostgresNode,
  rejoinStandby,
  roleOnDisk,
  startCopiedStandby,
  startPostgres,
  timelineOnDisk,
  waitPostgresReady,
  waitStreaming,
} from './datastores/postgres';
import { type RedisNode, startRedis, waitRedisLinked, waitRedisReady } from './datastores/redis';
import { sweepKernelRules } from './link-rules';
import { spawnGroup, waitUntil } from './process';
import { componentId } from './processes';
import { readStoppedStalePrimary } from './quarantine';
import type { ReplicationModes } from './replication';
import { planWarmFork } from './restore-plan';
import { persistedRoute } from './router-state';
import { serviceTopology } from './topology';

// An app started through tsx (no current bundle) compiles at start: at load 30 on 2 cores one took over
// 45 s (LAB_APP_READY_TIMEOUT_MS).
const APP_READY_TIMEOUT_MS = Number(process.env.LAB_APP_READY_TIMEOUT_MS) || 45_000;

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
export async function settleAll(tasks: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** For the bootstrap helpers, which spawn the postmaster themselves. */
export function trackPostgres(ctx: LabContext, node: PostgresNode) {
  return (child: ChildProcess) =>
    ctx.processes.track(componentId(node.service, node.region, 'postgres'), 'postgres', child, {
      service: node.service,
      region: node.region,
      logFile: node.logFile,
    });
}

/** An old primary rejoins as `source`'s standby (pg_rewind, a base backup if that fails, said in the log). */
export async function rejoinAsStandby(ctx: LabContext, node: PostgresNode, source: PostgresNode) {
  const joined = await rejoinStandby(node, source, ctx.secrets, trackPostgres(ctx, node));
  if (joined.rewindError)
    ctx.log(
      `${node.service}/${node.region}: pg_rewind failed (${joined.rewindError}); took a base backup instead`,
    );
  return joined;
}

export async function startPostgresNode(ctx: LabContext, node: PostgresNode): Promise<void> {
  const child = startPostgres(node);
  trackPostgres(ctx, node)(child);
  await waitPostgresReady(node, child);
  const fenced = await enforceFenceOnDisk(node);
  if (fenced !== null)
    ctx.log(`${node.service}/${node.region}: Postgres carries a fence at epoch ${fenced}: it stays fenced`);
}

export async function startRedisNode(ctx: LabContext, node: RedisNode, replicaOf?: RedisNode): Promise<void> {
  const child = startRedis(node, replicaOf);
  ctx.processes.track(componentId(node.service, node.region, 'redis'), 'redis', child, {
    service: node.service,
    region: node.region,
    logFile: node.logFile,
  });
  await waitRedisReady(node, child);
  if (replicaOf) await waitRedisLinked(node);
}

function spawnNodeComponent(component: NodeComponent): ChildProcess {
  component.prepare?.();
  return spawnGroup({
    command: process.execPath,
    // the entry's current esbuild bundle (lab.ts builds them before the supervisor starts), else tsx
    args: nodeArgsFor(component.entryFile),
    env: component.env,
    cwd: join(component.entryFile, '..', '..'),
    logFile: component.logFile,
  });
}

/** Starts an app or the router and waits for GET /health/live; a crash is restarted in place. */
export async function startNodeComponent(ctx: LabContext, component: NodeComponent): Promise<void> {
  const respawn = () => spawnNodeComponent(component);
  const entry = ctx.processes.track(component.id, component.kind, respawn(), {
    service: component.service,
    region: component.region,
    logFile: component.logFile,
    respawn,
  });
  await waitUntil(
    `${component.id} GET /health/live → 200`,
    async () => (await fetch(`${component.url}/health/live`, { signal: AbortSignal.timeout(1_000) })).ok,
    APP_READY_TIMEOUT_MS,
    // a refused connection costs nothing; every app and then the router are on up's critical path
    25,
    entry.child,
  );
}

/** Starts the cell's app, if this lab runs apps and it is not running already. */
export async function startAppOf(ctx: LabContext, service: ServiceName, region: RegionName) {
  const app = ctx.components.find((c) => c.id === componentId(service, region, 'app'));
  const running = ctx.processes.get(componentId(service, region, 'app'));
  if (!app || (ctx.processes.alive(running) && running.intent === 'running')) return;
  await startNodeComponent(ctx, app);
}

async function startPrometheus(ctx: LabContext, scraped: NodeComponent[]): Promise<void> {
  const { paths, topo } = ctx;
  const configFile = join(paths.edgeDir, 'prometheus.yml');
  writeFileSync(configFile, prometheusConfig(scraped));
  const logFile = paths.log('prometheus');
  const dataDir = paths.controlPlaneDir(ctx.controlPlane);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const child = spawnGroup({
    command: 'prometheus',
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dataDir, 'prometheus-data')}`,
      `--web.listen-address=${topo.edge.host}:${topo.ports.prometheus}`,
      '--web.enable-remote-write-receiver',
    ],
    logFile,
  });
  // inside a region, the region's kill reaches it (and, like every data store there, it stays dead)
  const region = controlPlaneRegion(ctx);
  const entry = ctx.processes.track('prometheus', 'prometheus', child, {
    logFile,
    ...(region ? { region } : {}),
  });
  await waitUntil(
    'prometheus /-/ready',
    async () =>
      (await fetch(`${topo.edge.prometheusUrl}/-/ready`, { signal: AbortSignal.timeout(1_000) })).ok,
    30_000,
    100,
    entry.child,
  );
}

/** `detail` as a function: said after the work, which decides it (a warm rebuild says what it kept). */
type Step = (
  id: string,
  logFile: string,
  detail: string | (() => string),
  work: () => Promise<unknown>,
) => Promise<void>;

export interface BringUpOptions {
  /** false: the data tier and Prometheus only (the lab's own data-tier tests) */
  apps: boolean;
  /** the lab console on the edge too (`lab up` asks for it; test labs only when they need it) */
  console: boolean;
  /** where the router and Prometheus run (default the edge); see ControlPlanePlacement */
  controlPlane?: ControlPlanePlacement;
  /** how each service replicates (default the contract's REPLICATION_MODE) */
  replication?: ReplicationModes;
  /** the router's probe knobs (default the router's own) */
  probe?: Partial<ProbeConfig>;
}

/** Brings the whole lab up; on any failure stops what it started and throws ComponentFailure. */
export async function bringUp(ctx: LabContext, opts: BringUpOptions, progress: (line: string) => void) {
  const t0 = Date.now();
  const step: Step = async (id, logFile, detail, work) => {
    try {
      await work();
    } catch (err) {
      throw err instanceof ComponentFailure ? err : new ComponentFailure(id, logFile, err);
    }
    const said = typeof detail === 'function' ? detail() : detail;
    progress(`  ok  ${id.padEnd(24)} ${said.padEnd(30)} +${Date.now() - t0} ms`);
  };
  // One initdb for every cold primary of this `up`, copied (initPrimary): each initdb costs ~1 s of CPU
  // on a core the rest of the start needs.
  const templateDir = join(ctx.paths.stateDir, 'initdb-template');
  let template: Promise<string> | undefined;
  const initdbOnce: Initdb = () =>
    (template ??= initdb(templateDir, ctx.secrets.postgresPassword).then(() => templateDir));
  try {
    ctx.controlPlane = opts.controlPlane ?? 'edge';
    if (opts.replication) ctx.replication = opts.replication;
    if (opts.probe) ctx.probe = opts.probe;
    if (Object.keys(ctx.probe).length > 0)
      progress(`  --  ${'router probe'.padEnd(24)} ${JSON.stringify(ctx.probe)}`);
    for (const service of SERVICES)
      if (ctx.replication[service] !== REPLICATION_MODE[service])
        progress(`  --  ${`${service} replication`.padEnd(24)} ${ctx.replication[service].padEnd(30)}`);
    if (ctx.controlPlane !== 'edge')
      progress(
        `  --  ${'control plane'.padEnd(24)} ${`inside ${ctx.controlPlane}: dies with it`.padEnd(30)}`,
      );
    ctx.components = opts.apps ? nodeComponents(ctx).filter((c) => c.kind !== 'console' || opts.console) : [];
    if (!opts.apps)
      progress(`  --  ${'apps and router'.padEnd(24)} ${'skipped (data tier only)'.padEnd(30)}`);
    // The links first: standbys replicate through them, and the router reaches cells through them.
    // A fresh `up` starts with every link healthy; only a crash restart keeps the faults it held.
    rmSync(linksStateFile(ctx.paths), { force: true });
    // rules a killed links process of this subnet left behind would forward past the new proxy
    await sweepKernelRules(ctx.topo.subnet);
    const links = linksComponent(ctx);
    // initdb needs nothing else: it runs while the links process loads (each mostly one core's CPU)
    if (SERVICES.some((service) => needsInitdb(ctx, service))) void initdbOnce().catch(() => {});
    await step(links.id, links.logFile, links.url, () => startNodeComponent(ctx, links));
    // Each service's apps start as soon as its own data tier is ready; Prometheus needs nothing.
    await settleAll([
      step('prometheus', ctx.paths.log('prometheus'), ctx.topo.edge.prometheusUrl, () =>
        startPrometheus(ctx, ctx.components),
      ),
      ...SERVICES.map(async (service) => {
        const activeActive = serviceTopology(ctx.topo, service) === 'active-active';
        await (activeActive
          ? upActiveActiveCell(ctx, service, step, initdbOnce)
          : upCell(ctx, service, step, initdbOnce));
        const apps = ctx.components.filter((c) => c.kind === 'app' && c.service === service);
        await settleAll(apps.map((c) => step(c.id, c.logFile, c.url, () => startNodeComponent(ctx, c))));
        // the publications come with the apps' migrations; the subscriptions need them on both sides
        if (activeActive && apps.length > 0) {
          const a = cellOf(ctx, service, 'dc-a');
          await step(`${service}-logical`, a.postgres.logFile, 'subscriptions both ways', () =>
            ensureSubscriptions(ctx),
          );
        }
      }),
    ]);
    // The router last: started earlier, it would see cells still booting as dead and fail over. The
    // console beside it (it only reads the router and the lab over HTTP).
    await settleAll(
      ctx.components
        .filter((c) => c.kind === 'router' || c.kind === 'console')
        .map((c) => step(c.id, c.logFile, c.url, () => startNodeComponent(ctx, c))),
    );
  } catch (err) {
    await ctx.processes.stopAll();
    throw err;
  } finally {
    await template?.catch(() => {});
    rmSync(templateDir, { recursive: true, force: true });
  }
}

/** The data dir every cold primary of this `up` is copied from (made on first use). */
type Initdb = () => Promise<string>;

/** Whether this `up` initdbs a primary of the service (the same tests upCell and upActiveActiveCell make). */
function needsInitdb(ctx: LabContext, service: ServiceName): boolean {
  const uninitialized = (['dc-a', 'dc-b'] as const).map(
    (r) => !isInitialized(cellOf(ctx, service, r).postgres),
  );
  return serviceTopology(ctx.topo, service) === 'active-active'
    ? uninitialized.some(Boolean)
    : uninitialized.every(Boolean);
}

/** Active-active: both cells are primaries (cold: initdb each; warm: from their own data dirs). */
async function upActiveActiveCell(ctx: LabContext, service: ServiceName, step: Step, template: Initdb) {
  await settleAll(
    (['dc-a', 'dc-b'] as const).map(async (region) => {
      const c = cellOf(ctx, service, region);
      const cold = !isInitialized(c.postgres);
      await step(
        `${service}-${region}-postgres`,
        c.postgres.logFile,
        cold ? 'active-active primary (initdb)' : 'active-active primary (warm)',
        () =>
          cold
            ? bootstrapPrimary(
                c.postgres,
                ctx.secrets,
                undefined,
                trackPostgres(ctx, c.postgres),
                ctx.replication[service],
                { template },
              )
            : startPostgresNode(ctx, c.postgres),
      );
      await step(`${service}-${region}-redis`, c.redis.logFile, 'master (own region)', () =>
        startRedisNode(ctx, c.redis),
      );
    }),
  );
}

async function upCell(ctx: LabContext, service: ServiceName, step: Step, template: Initdb) {
  const a = cellOf(ctx, service, 'dc-a');
  const b = cellOf(ctx, service, 'dc-b');
  const pgStep = (c: CellNodes, detail: string | (() => string), work: () => Promise<unknown>) =>
    step(`${service}-${c.region}-postgres`, c.postgres.logFile, detail, work);
  const redisStep = (c: CellNodes, detail: string, work: () => Promise<unknown>) =>
    step(`${service}-${c.region}-redis`, c.redis.logFile, detail, work);

  if (!isInitialized(a.postgres) && !isInitialized(b.postgres)) {
    // Cold: dc-a primary, dc-b streaming standby (a copy of dc-a's initdb); each Redis alongside its
    // Postgres. Each node's line says what its steps took.
    const primarySteps = stepTimes();
    const standbySteps = stepTimes();
    await settleAll([
      pgStep(a, primarySteps.said('primary (initdb'), () =>
        bootstrapPrimary(
          a.postgres,
          ctx.secrets,
          'dc-b',
          trackPostgres(ctx, a.postgres),
          ctx.replication[service],
          { standby: b.postgres, template, timed: primarySteps.timed },
        ),
      ),
      redisStep(a, 'master', () => startRedisNode(ctx, a.redis)),
    ]);
    await settleAll([
      pgStep(b, standbySteps.said('standby (copy of initdb'), () =>
        startCopiedStandby(b.postgres, a.postgres, trackPostgres(ctx, b.postgres), standbySteps.timed),
      ),
      redisStep(b, 'replica of dc-a', () => startRedisNode(ctx, b.redis, a.redis)),
    ]);
    return;
  }
  const primary = await upCellWarm(ctx, a, b, pgStep);
  const replica = primary === a ? b : a;
  await redisStep(primary, 'master', () => startRedisNode(ctx, primary.redis));
  await redisStep(replica, `replica of ${primary.region}`, () =>
    startRedisNode(ctx, replica.redis, primary.redis),
  );
}

/** A node's step times, said after its role: `primary (initdb; copied 310, started 420, roles 95 ms)`. */
function stepTimes() {
  const times: string[] = [];
  return {
    timed: (step: string, ms: number) => times.push(`${step} ${ms}`),
    said: (role: string) => () => `${role}${times.length ? `; ${times.join(', ')} ms` : ''})`,
  };
}

/** Warm start: the data dirs keep the roles they had (standby.signal decides). */
async function upCellWarm(
  ctx: LabContext,
  a: CellNodes,
  b: CellNodes,
  pgStep: (c: CellNodes, detail: string | (() => string), work: () => Promise<unknown>) => Promise<void>,
): Promise<CellNodes> {
  const initialized = [a, b].filter((c) => isInitialized(c.postgres));
  if (initialized.length === 2 && initialized.every((c) => roleOnDisk(c.postgres) === 'primary'))
    return upForkedCell(ctx, a, b, pgStep);
  await settleAll(
    initialized.map((c) =>
      pgStep(c, `${roleOnDisk(c.postgres)} (warm)`, () => startPostgresNode(ctx, c.postgres)),
    ),
  );
  const primaries: CellNodes[] = [];
  for (const c of initialized) if (!(await isInRecovery(c.postgres))) primaries.push(c);
  const primary = primaries[0];
  if (!primary) {
    throw new ComponentFailure(
      `${a.service}-postgres`,
      a.postgres.logFile,
      new Error('no primary on disk (both standby); `npm run lab -- down --wipe` starts afresh'),
    );
  }
  const standby = primary === a ? b : a;
  if (!isInitialized(standby.postgres)) {
    await pgStep(standby, `standby of ${primary.region} (rebuilt)`, () =>
      bootstrapStandby(standby.postgres, primary.postgres, ctx.secrets, trackPostgres(ctx, standby.postgres)),
    );
  } else {
    await waitStreaming(primary.postgres, standby.region);
  }
  return primary;
}

/**
 * Both data dirs are primaries: a failover happened and the old primary was never restored (a region
 * kill, the router promoted the other region, then `down` and `up`). The router's persisted route says
 * which one is the primary (planWarmFork); the stale one is never started where anyone could reach it:
 * it is read privately first, exactly as restore reads a stopped old primary (its forked rows go to
 * quarantine), then rewound (or re-cloned) as the primary's standby.
 */
async function upForkedCell(
  ctx: LabContext,
  a: CellNodes,
  b: CellNodes,
  pgStep: (c: CellNodes, detail: string | (() => string), work: () => Promise<unknown>) => Promise<void>,
): Promise<CellNodes> {
  const [tlA, tlB] = await Promise.all([timelineOnDisk(a.postgres), timelineOnDisk(b.postgres)]);
  const plan = planWarmFork({
    control: persistedRoute(ctx)(a.service),
    timelines: { 'dc-a': tlA, 'dc-b': tlB },
  });
  if (plan.kind === 'refuse')
    throw new ComponentFailure(`${a.service}-postgres`, a.postgres.logFile, new Error(plan.reason));
  const [primary, stale] = plan.primary === 'dc-a' ? [a, b] : [b, a];
  await pgStep(primary, `primary (warm; ${plan.why})`, () => startPostgresNode(ctx, primary.postgres));
  let said = `standby of ${primary.region}`;
  await pgStep(
    stale,
    () => said,
    async () => {
      const id = componentId(stale.service, stale.region, 'postgres');
      const read = await readStoppedStalePrimary(
        { log: ctx.log, quarantineDir: ctx.paths.quarantineDir },
        stale.postgres,
        primary.postgres,
        {
          onStarted: trackPostgres(ctx, stale.postgres),
          stop: () => ctx.processes.stop(ctx.processes.get(id)),
        },
      );
      const joined = await rejoinAsStandby(ctx, stale.postgres, primary.postgres);
      said = `standby of ${primary.region} (${[joined.how, ...read.notes].join('; ')})`;
      ctx.log(`${stale.service}/${stale.region}: warm up: ${said}`);
    },
  );
  return primary;
}
