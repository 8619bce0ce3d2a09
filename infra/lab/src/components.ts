// The node components the lab runs (every app and the router): how each starts, with which
// environment, and the config files they read (the router's, Prometheus').

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type LinksConfigFile,
  REGIONS,
  REPLICATION_MODE,
  type RegionName,
  type RouterConfigFile,
  SERVICES,
  type ServiceName,
} from '@failover-lab/contracts';
import type { CellNodes } from './cell-nodes';
import { cellOf, type LabContext } from './context';
import { databaseUrl } from './datastores/postgres';
import { redisUrl } from './datastores/redis';
import { kernelChain, kernelForwardingWanted } from './link-rules';
import { type LabPaths, REPO_ROOT } from './paths';
import { componentId } from './processes';
import { keepsSyncStandbyIn } from './replication';
import { routerStateFile } from './router-state';
import type { LabSecrets } from './secrets';
import { edgeLinkHost, labLinks, serviceTopology } from './topology';

export interface NodeComponent {
  id: string;
  kind: 'app' | 'router' | 'console' | 'links';
  service?: ServiceName;
  region?: RegionName;
  entryFile: string;
  /** base URL: readiness is GET <url>/health/live → 200; Prometheus scrapes <url>/metrics */
  url: string;
  logFile: string;
  env: NodeJS.ProcessEnv;
  /** writes whatever files the component reads at start */
  prepare?: () => void;
}

// Only what a component needs: no secrets of the lab's own, no stray environment.
function baseEnv(): NodeJS.ProcessEnv {
  const { PATH, HOME, LANG, TZ } = process.env;
  return { PATH, HOME, LANG, TZ, NODE_ENV: process.env.NODE_ENV ?? 'development' };
}

/** docs/contracts.md "Cell environment", exactly. */
function cellEnv(cell: CellNodes, port: number, secrets: LabSecrets, edgeLink: string): NodeJS.ProcessEnv {
  return {
    ...baseEnv(),
    SERVICE_NAME: cell.service,
    REGION: cell.region,
    HOST: cell.host,
    PORT: String(port),
    DATABASE_URL: databaseUrl(cell.postgres, secrets.appPassword),
    REDIS_URL: redisUrl(cell.redis),
    ADMIN_TOKEN: secrets.adminToken,
    JWT_JWKS: JSON.stringify(secrets.jwks),
    ...(cell.service === 'login' ? { JWT_SIGNING_KEY: JSON.stringify(secrets.jwtSigningKey) } : {}),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    // The router's traffic arrives through the edge link, from the link's own address: only there is
    // x-forwarded-for (the client's address) believed. Every other local client connects from
    // 127.0.0.1 and cannot claim another address.
    TRUSTED_PROXIES: edgeLink,
  };
}

/** What the components are made from (a LabContext has it). */
export type ComponentContext = Pick<LabContext, 'paths' | 'topo' | 'secrets'> &
  Partial<Pick<LabContext, 'controlPlane' | 'replication' | 'probe'>>;

export function routerConfigFile(paths: LabPaths) {
  return join(paths.edgeDir, 'router.json');
}

/** The region the control plane shares its fate with, if it is placed inside one. */
export const controlPlaneRegion = (ctx: Pick<ComponentContext, 'controlPlane'>): RegionName | undefined =>
  ctx.controlPlane === undefined || ctx.controlPlane === 'edge' ? undefined : ctx.controlPlane;

/** Every app, the router and the console. */
export function nodeComponents(ctx: ComponentContext): NodeComponent[] {
  const { paths, topo, secrets } = ctx;
  const apps = SERVICES.flatMap((service) =>
    REGIONS.map((region): NodeComponent => {
      const cell = cellOf(ctx, service, region);
      const id = componentId(service, region, 'app');
      return {
        id,
        kind: 'app',
        service,
        region,
        entryFile: join(REPO_ROOT, 'services', service, 'src', 'server.ts'),
        url: appUrl(ctx, service, region),
        logFile: paths.log(id),
        env: {
          ...cellEnv(cell, topo.ports.app, secrets, edgeLinkHost(region, service, topo.subnet)),
          ...(serviceTopology(topo, service) === 'active-active'
            ? { MESSAGING_TOPOLOGY: 'active-active' }
            : {}),
        },
      };
    }),
  );
  const configFile = routerConfigFile(paths);
  const router: NodeComponent = {
    id: 'router',
    kind: 'router',
    // placed in a region, the supervisor counts it among that region's processes: a region kill or
    // freeze reaches it, and a killed router is not restarted (nobody is left to restart it)
    region: controlPlaneRegion(ctx),
    entryFile: join(REPO_ROOT, 'infra', 'router', 'src', 'server.ts'),
    url: topo.edge.routerUrl,
    logFile: paths.log('router'),
    // the admin token travels in the environment, never in a file others may read
    env: { ...baseEnv(), ROUTER_CONFIG: configFile, ADMIN_TOKEN: secrets.adminToken, LOG_LEVEL: 'info' },
    prepare: () => {
      mkdirSync(ctx.paths.controlPlaneDir(ctx.controlPlane ?? 'edge'), { recursive: true, mode: 0o700 });
      writeFileSync(configFile, `${JSON.stringify(routerConfig(ctx), null, 2)}\n`);
    },
  };
  const labConsole: NodeComponent = {
    id: 'console',
    kind: 'console',
    entryFile: join(REPO_ROOT, 'infra', 'console', 'src', 'server.ts'),
    url: topo.edge.consoleUrl.replace(/\/$/, ''),
    logFile: paths.log('console'),
    // no secret here: the console reads the tokens from the state dir's 0600 secrets.json itself
    env: {
      ...baseEnv(),
      LAB_STATE_DIR: paths.stateDir,
      CONSOLE_HOST: topo.edge.host,
      CONSOLE_PORT: String(topo.ports.console),
      LOG_LEVEL: 'info',
    },
  };
  return [...apps, router, labConsole];
}

const appUrl = (ctx: ComponentContext, service: ServiceName, region: RegionName) =>
  `http://${cellOf(ctx, service, region).host}:${ctx.topo.ports.app}`;

/** The cell's app as the router reaches it: through the edge link (its Postgres probe too, same host). */
const linkedAppUrl = (ctx: ComponentContext, service: ServiceName, region: RegionName) =>
  `http://${edgeLinkHost(region, service, ctx.topo.subnet)}:${ctx.topo.ports.app}`;

export function linksConfigFile(paths: LabPaths) {
  return join(paths.edgeDir, 'links.json');
}

export function linksStateFile(paths: LabPaths) {
  return join(paths.edgeDir, 'links-state.json');
}

/** The links process: every link of the topology, started before any data store replicates through it. */
export function linksComponent(ctx: ComponentContext): NodeComponent {
  const { paths, topo, secrets } = ctx;
  const configFile = linksConfigFile(paths);
  const config: LinksConfigFile = {
    control: { host: topo.edge.host, port: topo.ports.links },
    stateFile: linksStateFile(paths),
    links: labLinks(topo.subnet, topo.ports),
    ...(kernelForwardingWanted() ? { kernel: { chain: kernelChain(topo.subnet) } } : {}),
  };
  return {
    id: 'links',
    kind: 'links',
    entryFile: join(REPO_ROOT, 'infra', 'links', 'src', 'server.ts'),
    url: topo.edge.linksUrl,
    logFile: paths.log('links'),
    // the control token travels in the environment, never in a file others may read
    env: { ...baseEnv(), LINKS_CONFIG: configFile, LINKS_TOKEN: secrets.controlToken },
    prepare: () => writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`),
  };
}

/**
 * The lab router's lease (policy.leaseMs; the contract's default is 3 s), the deadline of each grant
 * (policy.leaseGrantMs) and the silence after which a cell is granted none (probe.silenceMs). A
 * failover from a frozen primary waits at most ~silence + grant + lease after the freeze (1.1 s); each
 * value and its safety argument: docs/fencing.md, "The lease".
 */
export const LAB_LEASE_MS = 800;
export const LAB_LEASE_GRANT_MS = 100;
export const LAB_SILENCE_MS = 200;
/**
 * Passive confirmation (probe.confirmSilenceMs): two failed probes and 900 ms without any answer confirm
 * a cell down, ~1.0–1.2 s after a freeze instead of three probe timeouts (~1.5–1.7 s). Above the
 * flapping drill's 700 ms outages and the wan-latency drill's 300 ms spike.
 */
export const LAB_CONFIRM_SILENCE_MS = 900;
/**
 * For LAB_SETTLE_MS after a promotion its grants carry LAB_SETTLE_LEASE_MS (policy.settleLeaseMs,
 * policy.settleMs): the just-promoted primary takes the requests held through the failover while the
 * old region thaws beside it, and went ~1 s without reading anything at load 6–8.
 */
export const LAB_SETTLE_LEASE_MS = 2_000;
export const LAB_SETTLE_MS = 3_000;

/** The router's config file for this lab (the contract's RouterConfigFile). */
export function routerConfig(ctx: ComponentContext): RouterConfigFile {
  const services = Object.fromEntries(
    SERVICES.map((service) => [
      service,
      {
        mode: (ctx.replication ?? REPLICATION_MODE)[service],
        ...(serviceTopology(ctx.topo, service) === 'active-active'
          ? { topology: 'active-active' as const }
          : {}),
        syncStandby: keepsSyncStandbyIn(ctx.replication, service),
        cells: {
          'dc-a': linkedAppUrl(ctx, service, 'dc-a'),
          'dc-b': linkedAppUrl(ctx, service, 'dc-b'),
        },
      },
    ]),
  );
  return {
    listen: { host: ctx.topo.edge.host, port: ctx.topo.ports.router },
    stateFile: routerStateFile(ctx),
    services,
    // Each proxied attempt carries x-request-deadline = now + this; a failover away from a frozen
    // region waits for the deadlines of the writes it holds, so this bounds that wait. Below the drill
    // client's 5 s timeout (a held write still gets its answer) and well above a sign-in's p99 (~2 s).
    proxy: { requestTimeoutMs: 3_000 },
    // A failover from a frozen or cut-off primary waits out its lease (its writes are bound by it too,
    // so not their deadlines as well); every proxied request renews it, so a primary flooded by requests
    // keeps it, and a silent cell stops being granted one long before it is confirmed down.
    policy: {
      leaseMs: LAB_LEASE_MS,
      leaseGrantMs: LAB_LEASE_GRANT_MS,
      settleLeaseMs: LAB_SETTLE_LEASE_MS,
      settleMs: LAB_SETTLE_MS,
    },
    probe: { silenceMs: LAB_SILENCE_MS, confirmSilenceMs: LAB_CONFIRM_SILENCE_MS, ...ctx.probe },
  };
}

const RULES_DIR = join(REPO_ROOT, 'infra', 'prometheus', 'rules');

/**
 * Prometheus scrapes every running component that exposes /metrics, every second. JSON is valid
 * YAML, so no YAML writer is needed.
 */
export function prometheusConfig(scraped: NodeComponent[]): string {
  const hostPort = (url: string) => new URL(url).host;
  const apps = scraped.filter((c) => c.kind === 'app');
  const router = scraped.filter((c) => c.kind === 'router');
  const scrapeConfigs = [];
  if (apps.length) {
    scrapeConfigs.push({
      job_name: 'cells',
      // the apps label their own series with service/region; target labels only fill gaps
      honor_labels: true,
      static_configs: apps.map((c) => ({
        targets: [hostPort(c.url)],
        labels: { service: c.service, region: c.region },
      })),
    });
  }
  if (router.length) {
    scrapeConfigs.push({
      job_name: 'router',
      static_configs: [{ targets: router.map((c) => hostPort(c.url)) }],
    });
  }
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
    rule_files: [join(RULES_DIR, '*.yml')],
    scrape_configs: scrapeConfigs,
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
