// The ONE registry of node components the lab runs (apps and the router), so services and the
// router plug in as they land: a component starts only if its entry file exists.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CellNodes } from './cell-nodes';
import { databaseUrl } from './datastores/postgres';
import { redisUrl } from './datastores/redis';
import { type LabPaths, REPO_ROOT } from './paths';
import type { LabSecrets } from './secrets';
import {
  REGIONS,
  REPLICATION_MODE,
  type RegionName,
  SERVICES,
  type ServiceName,
  type Topology,
} from './topology';

export interface NodeComponent {
  id: string;
  kind: 'app' | 'router' | 'console';
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

export const appId = (service: ServiceName, region: RegionName) => `${service}-${region}-app`;

// Only what a component needs: no secrets of the lab's own, no stray environment.
function baseEnv(): NodeJS.ProcessEnv {
  const { PATH, HOME, LANG, TZ } = process.env;
  return { PATH, HOME, LANG, TZ, NODE_ENV: process.env.NODE_ENV ?? 'development' };
}

/** docs/contracts.md "Cell environment", exactly. */
function cellEnv(cell: CellNodes, port: number, secrets: LabSecrets, edgeHost: string): NodeJS.ProcessEnv {
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
    // the router proxies from the edge address: its x-forwarded-for (the client's address) is believed
    TRUSTED_PROXIES: edgeHost,
  };
}

export interface RegistryContext {
  paths: LabPaths;
  topo: Topology;
  secrets: LabSecrets;
  cell(service: ServiceName, region: RegionName): CellNodes;
}

export function routerConfigFile(paths: LabPaths) {
  return join(paths.edgeDir, 'router.json');
}

/** Every app and the router, present or not (see isPresent). */
export function nodeComponents(ctx: RegistryContext): NodeComponent[] {
  const { paths, topo, secrets } = ctx;
  const apps = SERVICES.flatMap((service) =>
    REGIONS.map((region): NodeComponent => {
      const cell = ctx.cell(service, region);
      const id = appId(service, region);
      return {
        id,
        kind: 'app',
        service,
        region,
        entryFile: join(REPO_ROOT, 'services', service, 'src', 'server.ts'),
        url: `http://${cell.host}:${topo.ports.app}`,
        logFile: paths.log(id),
        env: cellEnv(cell, topo.ports.app, secrets, topo.edge.host),
      };
    }),
  );
  const configFile = routerConfigFile(paths);
  const router: NodeComponent = {
    id: 'router',
    kind: 'router',
    entryFile: join(REPO_ROOT, 'infra', 'router', 'src', 'server.ts'),
    url: topo.edge.routerUrl,
    logFile: paths.log('router'),
    // the admin token travels in the environment, never in a file others may read
    env: { ...baseEnv(), ROUTER_CONFIG: configFile, ADMIN_TOKEN: secrets.adminToken, LOG_LEVEL: 'info' },
    prepare: () => writeFileSync(configFile, `${JSON.stringify(routerConfig(ctx), null, 2)}\n`),
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

export const isPresent = (component: NodeComponent) => existsSync(component.entryFile);

/** docs/contracts.md "Router": config file shape. */
export function routerConfig(ctx: RegistryContext) {
  const services = Object.fromEntries(
    SERVICES.map((service) => [
      service,
      {
        mode: REPLICATION_MODE[service],
        cells: Object.fromEntries(
          REGIONS.map((region) => [region, `http://${ctx.cell(service, region).host}:${ctx.topo.ports.app}`]),
        ),
      },
    ]),
  );
  return {
    listen: { host: ctx.topo.edge.host, port: ctx.topo.ports.router },
    stateFile: join(ctx.paths.edgeDir, 'router-state.json'),
    services,
    // Each proxied attempt carries x-request-deadline = now + this; a failover away from a frozen
    // region waits for the deadlines of the writes it holds, so this bounds that wait. Below the drill
    // client's 5 s timeout (a held write still gets its answer) and well above a sign-in's p99 (~2 s).
    proxy: { requestTimeoutMs: 3_000 },
  };
}

const RULES_DIR = join(REPO_ROOT, 'infra', 'prometheus', 'rules');

/**
 * Prometheus scrapes every running component that exposes /metrics, every second. JSON is valid
 * YAML, so no YAML writer is needed.
 */
export function prometheusConfig(scraped: NodeComponent[]): string {
  const hasRules = existsSync(RULES_DIR) && readdirSync(RULES_DIR).some((f) => f.endsWith('.yml'));
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
    rule_files: hasRules ? [join(RULES_DIR, '*.yml')] : [],
    scrape_configs: scrapeConfigs,
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
