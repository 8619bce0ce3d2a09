// docker-compose.yml, built from the contract's vocabulary so the two ways of running the platform cannot
// drift: the same 6 cells, the same env var names (docs/contracts.md "Cell environment"), the same
// health endpoints. Regenerate with `npx tsx infra/compose/src/generate.ts`; test/compose.test.ts
// fails when the committed file differs from what this module builds.
//
// Networks (why each container is where it is):
//   dc-a, dc-b   one per region; a cell's app, Postgres and Redis talk only inside their region.
//   replication  the WAN link between the regions: the data stores that replicate (every Postgres
//                and Redis) sit on it, so dc-b's stores can stream from dc-a's (and back, after a
//                failover). Apps are not on it: a cell never reaches another cell's stores. The links
//                container is: the router asks a cell's Postgres through it when the cell's app stops
//                answering (a crashed app with a live database is restarted, not failed over).
//   edge         the third site: router, links, Prometheus, Grafana, k6, plus every app (the
//                router proxies to them through the links container, Prometheus scrapes them
//                directly). Losing a region never loses the edge.
//   The router reaches the cells only through `links` (the lab's link proxy): the links container is
//   on edge and replication (for the cells' Postgres), the router on edge alone.
import {
  FORK_KEYS,
  keepsSyncStandby,
  type LinksConfigFile,
  otherRegion,
  REGIONS,
  REPLICATION_MODE,
  type RegionName,
  SERVICES,
  type ServiceName,
  type ServiceTopology,
  subscriptionStatement,
} from '@failover-lab/contracts';

/**
 * The one Debian base every image of the core stack is built FROM (docs/docker.md, "Images"). Pulled
 * by the first build where a registry answers; made locally by `npm run compose -- base` where none
 * does. Defined here only: docker-compose.yml hands it to every build as BASE_IMAGE.
 */
export const BASE_IMAGE = 'debian:bookworm-slim';
export const NODE_IMAGE = 'failover-lab-node:local';
export const POSTGRES_IMAGE = 'failover-lab-postgres:local';
export const REDIS_IMAGE = 'failover-lab-redis:local';
export const PROMETHEUS_IMAGE = 'failover-lab-prometheus:local';
// Upstream images, under profiles (neither can be built from Debian packages).
export const GRAFANA_IMAGE = 'grafana/grafana:10.4.8';
export const K6_IMAGE = 'grafana/k6:0.48.0';

/** Inside a container every cell listens on the contract's ports on its own container address. */
export const APP_PORT = 3000;
export const PG_PORT = 5432;
export const REDIS_PORT = 6379;

export const REPLICATION_NETWORK = 'replication';
export const EDGE_NETWORK = 'edge';
/**
 * The router's compose service: the DNS name the apps reach it by on the edge network (Docker's
 * embedded DNS answers with its address there), and the name they trust x-forwarded-for from.
 */
export const ROUTER_SERVICE = 'router';

/**
 * The link proxy (infra/links, the lab's own): every connection from the router to a cell — proxied
 * requests, probes, admin calls, the direct Postgres probe — crosses it, so "router → dc-a" is a link
 * that link faults (latency, partition, heal, …) act on by the lab's names. One container serves every
 * edge link, told apart by port (LINK_PORTS); the apps see the router's traffic coming from it.
 */
export const LINKS_SERVICE = 'links';
/** The links control API, published on loopback like the router (the drill drives faults through it). */
export const LINKS_CONTROL_PORT = 7071;

/**
 * The port the links container listens on for the edge link to `region`'s cell of `service`: app
 * 30<r><s>, Postgres 54<r><s> (r: dc-a 1, dc-b 2; s: login 1, payments 2, messaging 3), so a port
 * names its link the way the lab's address does (docs/docker.md, "Links").
 */
export function edgeLinkPort(
  component: 'app' | 'postgres',
  service: ServiceName,
  region: RegionName,
): number {
  const r = REGIONS.indexOf(region) + 1;
  const s = SERVICES.indexOf(service) + 1;
  return (component === 'app' ? 3000 : 5400) + r * 10 + s;
}

/**
 * The port the links container listens on for the replication link towards `to`'s store of
 * `service` (the link `<other region> → to`, the lab's replication link): Postgres 55<r><s>, Redis
 * 63<r><s>, r and s as in edgeLinkPort. dc-b's standby streams from dc-a's primary through
 * `links:55<1><s>`, and after a failover dc-a's from dc-b's through `links:55<2><s>`.
 */
export function replicationLinkPort(
  component: 'postgres' | 'redis',
  service: ServiceName,
  to: RegionName,
): number {
  const r = REGIONS.indexOf(to) + 1;
  const s = SERVICES.indexOf(service) + 1;
  return (component === 'postgres' ? 5500 : 6300) + r * 10 + s;
}

/** Secrets come from the environment (`--env-file .lab/compose.env`, see docs/docker.md); never committed. */
export const REQUIRED_SECRETS = [
  'POSTGRES_PASSWORD',
  'REPLICATOR_PASSWORD',
  'APP_DB_PASSWORD',
  'ADMIN_TOKEN',
  'CONSOLE_TOKEN',
  'JWT_JWKS',
  'JWT_SIGNING_KEY',
  'GRAFANA_ADMIN_PASSWORD',
  // requirepass and masterauth of every Redis (redis-entrypoint.sh writes them into a 0600 config)
  'REDIS_PASSWORD',
  // the links container's control API (faults on the router's links to the regions); the drill reads
  // it from the env file, as it reads ADMIN_TOKEN
  'LINKS_TOKEN',
] as const;

/**
 * Messaging's topology (docs/active-active.md), chosen in the env file the stack starts with
 * (`MESSAGING_TOPOLOGY=active-active`; default active-passive). One variable reaches every place
 * that differs: the messaging apps, both messaging data tiers (each region a primary with its own
 * origin table, its Redis a master) and the router's config file. The Postgres entrypoint records
 * it on the volume and refuses the other one on the same data (`down -v` first), as the lab does.
 */
export const MESSAGING_TOPOLOGY_VAR = 'MESSAGING_TOPOLOGY';
const messagingTopology = () => `\${${MESSAGING_TOPOLOGY_VAR}:-active-passive}`;

/** A messaging Postgres's replication password file (postgres-entrypoint.sh writes it on the volume). */
const PG_PASSFILE = '/var/lib/postgresql/.pgpass';

/** Where the router, the console, Prometheus and Grafana are published: a loopback address (docs/docker.md). */
export const PUBLISH_ADDRESS_VAR = 'FAILOVER_LAB_PUBLISH_ADDRESS';
const published = (port: number) => `\${${PUBLISH_ADDRESS_VAR}:-127.0.0.1}:${port}:${port}`;

/** Every image of the core stack is built here, FROM the one base (BASE_IMAGE). */
const build = (context: string, dockerfile = 'Dockerfile') => ({
  context,
  dockerfile,
  args: { BASE_IMAGE },
});
const NODE_BUILD = build('.');

/** A compose interpolation with a default: `${NAME:-fallback}`. */
const envOr = (name: string, fallback: string): string => `\${${name}:-${fallback}}`;

const secret = (name: (typeof REQUIRED_SECRETS)[number]): string =>
  `\${${name}:?${name} is not set: generate .lab/compose.env with infra/compose/src/make-env.ts}`;

export type Component = 'app' | 'postgres' | 'redis';

export function containerName(service: ServiceName, region: RegionName, component: Component): string {
  return `${service}-${region}-${component}`;
}

/** The labels the drill's compose backend selects containers by (infra/drill/README.md). */
function labels(
  region: RegionName | 'edge',
  component: string,
  service?: ServiceName,
): Record<string, string> {
  return {
    'failover-lab.region': region,
    ...(service ? { 'failover-lab.service': service } : {}),
    'failover-lab.component': component,
  };
}

/**
 * Health checks end by themselves: Docker does not kill a check that outlives its timeout, so a
 * check that can hang (a node start-up on a busy host, redis-cli against a frozen server) piles up one
 * process per interval. curl, pg_isready and `timeout` bound their own run time.
 */
const HEALTH = { interval: '5s', timeout: '5s', retries: 5 } as const;

const httpHealthcheck = (path: string, port: number) => ({
  test: ['CMD', 'curl', '-fsS', '-o', '/dev/null', '--max-time', '3', `http://127.0.0.1:${port}${path}`],
  ...HEALTH,
  // tsx compiles the app at start: slow on a busy 2-core host
  start_period: '120s',
});

/**
 * Resolver options of the containers on the serving path (apps, router). Their names resolve through
 * dockerd's embedded DNS server, which drops queries while the engine starts or stops containers;
 * glibc then waits its default 5 s before it asks again — longer than a client waits. The router
 * resolves cell names off the request path (infra/router/src/health/name-cache.ts), but an app opens
 * a new database connection by name whenever its pool needs one: with these, a lost query costs 1 s
 * (docs/docker.md, "restore").
 */
export const SERVING_DNS_OPTIONS = ['timeout:1', 'attempts:3'] as const;

/** The router's CPU weight among the stack's containers (each of the others: Docker's 1024). */
export const ROUTER_CPU_SHARES = 8192;

function appService(service: ServiceName, region: RegionName) {
  const pg = containerName(service, region, 'postgres');
  const redis = containerName(service, region, 'redis');
  // Exactly the variables of docs/contracts.md "Cell environment" (OTEL_EXPORTER_OTLP_ENDPOINT is
  // optional and left out: tracing export stays off unless someone adds it).
  const environment: Record<string, string> = {
    SERVICE_NAME: service,
    REGION: region,
    HOST: '0.0.0.0',
    PORT: String(APP_PORT),
    DATABASE_URL: `postgres://app:${secret('APP_DB_PASSWORD')}@${pg}:${PG_PORT}/${service}`,
    REDIS_URL: `redis://:${secret('REDIS_PASSWORD')}@${redis}:${REDIS_PORT}`,
    ADMIN_TOKEN: secret('ADMIN_TOKEN'),
    JWT_JWKS: secret('JWT_JWKS'),
    ...(service === 'login' ? { JWT_SIGNING_KEY: secret('JWT_SIGNING_KEY') } : {}),
    LOG_LEVEL: envOr('LOG_LEVEL', 'info'),
    // Login's per-IP sign-in limit believes x-forwarded-for from the router only, and the router's
    // requests arrive through the links container (the TCP proxy passes the router's header
    // through unchanged). By name: the kit re-resolves it, so a recreated links container (new
    // address) stays trusted, and no subnet has to be pinned for it.
    TRUSTED_PROXIES: LINKS_SERVICE,
    ...(service === 'messaging' ? { MESSAGING_TOPOLOGY: messagingTopology() } : {}),
  };
  return {
    build: NODE_BUILD,
    image: NODE_IMAGE,
    // the entry point compiled at image build (infra/compose/node/bundle.mjs): no compile per start
    command: ['node', '--enable-source-maps', `services/${service}/src/server.bundle.mjs`],
    environment,
    labels: labels(region, 'app', service),
    networks: [region, EDGE_NETWORK],
    dns_opt: [...SERVING_DNS_OPTIONS],
    depends_on: {
      [pg]: { condition: 'service_healthy' },
      [redis]: { condition: 'service_healthy' },
    },
    healthcheck: httpHealthcheck('/health/live', APP_PORT),
    // A crashed app is restarted in place (docs/architecture.md: process crash ≠ region loss): node dies under the
    // image's tini, the container exits 137 and Docker restarts it. `docker kill` is not a crash to
    // Docker (it marks the container stopped by hand): a region killed that way stays down until
    // `docker start` (the drill's restore).
    restart: 'on-failure',
  };
}

/** FORK_KEYS of one service as the Postgres entrypoint reads it: `table:key` words. */
export function forkKeysSpec(service: ServiceName): string {
  return FORK_KEYS[service].map(({ table, key }) => `${table}:${key}`).join(' ');
}

function postgresService(service: ServiceName, region: RegionName) {
  const standby = region !== REGIONS[0];
  // the other region's Postgres, through the replication link (the links container)
  const peerPort = replicationLinkPort('postgres', service, otherRegion(region));
  return {
    build: build('infra/compose/postgres'),
    image: POSTGRES_IMAGE,
    // Settings shared by both nodes are in the data dir's postgresql.conf (postgres-entrypoint.sh):
    // pg_rewind's crash recovery reads only that.
    environment: {
      POSTGRES_PASSWORD: secret('POSTGRES_PASSWORD'),
      POSTGRES_DB: service,
      REPLICATOR_PASSWORD: secret('REPLICATOR_PASSWORD'),
      APP_DB_PASSWORD: secret('APP_DB_PASSWORD'),
      FAILOVER_LAB_REGION: region,
      FAILOVER_LAB_PEER_HOST: LINKS_SERVICE,
      FAILOVER_LAB_PEER_PORT: String(peerPort),
      FAILOVER_LAB_BOOTSTRAP_ROLE: standby ? 'standby' : 'primary',
      // payments commits synchronously against the standby region, login its revocations
      // (docs/contracts.md "Data stores").
      FAILOVER_LAB_SYNC_STANDBY: keepsSyncStandby(service) && !standby ? otherRegion(region) : '',
      // what identifies a write (`table:key …`, the contract's FORK_KEYS): before an old primary is
      // rewound, its rows whose keys the new primary lacks go to quarantine (docs/docker.md)
      FAILOVER_LAB_FORK_KEYS: forkKeysSpec(service),
      ...(service === 'messaging'
        ? {
            FAILOVER_LAB_TOPOLOGY: messagingTopology(),
            // active-active only: run once both regions' migrations made their publications (the
            // lab runs the same statement, infra/lab/src/active-active.ts)
            FAILOVER_LAB_SUBSCRIPTION_SQL: subscriptionStatement(region, {
              host: LINKS_SERVICE,
              port: peerPort,
              passfile: PG_PASSFILE,
            }),
          }
        : {}),
    },
    // The postgres home, not just PGDATA (its data/ subdir): a standby's ~/.pgpass lives on the
    // volume too, so a recreated container still has its replication password.
    volumes: [`${containerName(service, region, 'postgres')}-data:/var/lib/postgresql`],
    labels: labels(region, 'postgres', service),
    networks: [region, REPLICATION_NETWORK],
    healthcheck: {
      // Over TCP (-h): initdb's setup server listens on the socket only, so it never looks ready.
      test: ['CMD', 'pg_isready', '-h', '127.0.0.1', '-t', '3', '-U', 'healthcheck', '-d', 'postgres'],
      ...HEALTH,
      // a dc-b node waits for its dc-a peer, then copies it with pg_basebackup
      start_period: '120s',
    },
    // Stop quickly when asked; a killed Postgres stays down (the fire) until restored.
    stop_grace_period: '10s',
  };
}

function redisService(service: ServiceName, region: RegionName) {
  const standby = region !== REGIONS[0];
  return {
    build: build('infra/compose/redis'),
    image: REDIS_IMAGE,
    command: [
      'redis-server',
      '--save',
      '',
      '--appendonly',
      'no',
      // Replicas write dump.rdb even with --save '' and reload stale data on restart (docs/facts.md).
      '--rdb-del-sync-files',
      'yes',
    ],
    environment: {
      FAILOVER_LAB_REGION: region,
      // the other region's Redis, through the replication link (the links container)
      FAILOVER_LAB_PEER_HOST: LINKS_SERVICE,
      FAILOVER_LAB_PEER_PORT: String(replicationLinkPort('redis', service, otherRegion(region))),
      FAILOVER_LAB_BOOTSTRAP_ROLE: standby ? 'standby' : 'primary',
      // active-active: each region's messaging Redis is a master (pub/sub and limits are per cell)
      ...(service === 'messaging' ? { FAILOVER_LAB_TOPOLOGY: messagingTopology() } : {}),
      // redis-cli's own variable (the health check and the entrypoint's peer check authenticate with
      // it, never with -a on a command line); the entrypoint writes it into the server's 0600 config
      // as requirepass and masterauth
      REDISCLI_AUTH: secret('REDIS_PASSWORD'),
    },
    labels: labels(region, 'redis', service),
    networks: [region, REPLICATION_NETWORK],
    healthcheck: {
      // only PONG is healthy: a NOAUTH or LOADING error reply is not
      test: ['CMD-SHELL', 'timeout 3 redis-cli ping | grep -qx PONG'],
      ...HEALTH,
      start_period: '30s',
    },
  };
}

function edgeServices() {
  return {
    [ROUTER_SERVICE]: {
      build: NODE_BUILD,
      image: NODE_IMAGE,
      command: ['node', '--enable-source-maps', 'infra/router/src/server.bundle.mjs'],
      environment: {
        // one config file per messaging topology, both mounted: the env file's choice picks one
        ROUTER_CONFIG: `/etc/failover-lab/router.${messagingTopology()}.json`,
        // Preferred over a token in the config file (docs/contracts.md "Router").
        ADMIN_TOKEN: secret('ADMIN_TOKEN'),
        LOG_LEVEL: envOr('LOG_LEVEL', 'info'),
      },
      volumes: [
        './infra/compose/router.json:/etc/failover-lab/router.active-passive.json:ro',
        './infra/compose/router.active-active.json:/etc/failover-lab/router.active-active.json:ro',
        // Epochs and primaries survive a router restart (neither forgets nor flaps).
        'router-state:/var/lib/failover-lab',
      ],
      labels: labels('edge', 'router'),
      // edge only: it reaches the apps and their Postgres through the links container (router.json),
      // never directly, so a partitioned link cuts the router off for real
      networks: [EDGE_NETWORK],
      dns_opt: [...SERVING_DNS_OPTIONS],
      // Every service's requests pass through this one process. Each container weighs 1024 by
      // default: while a restore starts a region's apps and databases on a busy host, the router got
      // a twentieth of the stack's CPU, and its lookups and replies came back seconds late together.
      cpu_shares: ROUTER_CPU_SHARES,
      ports: [published(8080)],
      // Its first start waits for every app: a router that starts probing while tsx still compiles
      // the apps would fail cells over at birth. depends_on counts only for `up`: a router restarted
      // by Docker later (dc-a gone, say) starts at once and routes to dc-b.
      depends_on: {
        [LINKS_SERVICE]: { condition: 'service_healthy' },
        ...Object.fromEntries(
          SERVICES.flatMap((service) =>
            REGIONS.map((region) => [
              containerName(service, region, 'app'),
              { condition: 'service_healthy' },
            ]),
          ),
        ),
      },
      healthcheck: httpHealthcheck('/health/live', 8080),
      restart: 'unless-stopped',
    },
    [LINKS_SERVICE]: {
      build: NODE_BUILD,
      image: NODE_IMAGE,
      command: ['node', '--enable-source-maps', 'infra/links/src/server.bundle.mjs'],
      environment: {
        LINKS_CONFIG: '/etc/failover-lab/links.json',
        // the control token: from the env file into the environment, never in argv (server.ts)
        LINKS_TOKEN: secret('LINKS_TOKEN'),
      },
      volumes: ['./infra/compose/links.json:/etc/failover-lab/links.json:ro'],
      labels: labels('edge', 'links'),
      // edge: the router's side and the apps; replication: the cells' Postgres (the router's probe)
      networks: [EDGE_NETWORK, REPLICATION_NETWORK],
      dns_opt: [...SERVING_DNS_OPTIONS],
      // every request of every service crosses it, as it crosses the router
      cpu_shares: ROUTER_CPU_SHARES,
      ports: [published(LINKS_CONTROL_PORT)],
      healthcheck: { ...httpHealthcheck('/health/live', LINKS_CONTROL_PORT), start_period: '60s' },
      // a restart keeps the faults a drill holds (its state file is in the container's own layer);
      // a recreate (`down`, `up`) starts healed
      restart: 'unless-stopped',
    },
    // The lab console (infra/console/README.md "Under docker compose"): read-only towards Docker — no
    // socket is mounted here or in any container on the edge network; faults come from the host's CLI.
    console: {
      build: NODE_BUILD,
      image: NODE_IMAGE,
      command: ['node', '--enable-source-maps', 'infra/console/src/server.bundle.mjs'],
      environment: {
        CONSOLE_MODE: 'compose',
        ROUTER_URL: `http://${ROUTER_SERVICE}:8080`,
        PROMETHEUS_URL: 'http://prometheus:9090',
        ADMIN_TOKEN: secret('ADMIN_TOKEN'),
        CONSOLE_TOKEN: secret('CONSOLE_TOKEN'),
        DRILL_OUT_DIR: '/app/drill-out',
        LOG_LEVEL: envOr('LOG_LEVEL', 'info'),
      },
      // the drill history people open from the page; read-only
      volumes: ['./drill-out:/app/drill-out:ro'],
      labels: labels('edge', 'console'),
      networks: [EDGE_NETWORK],
      ports: [published(8090)],
      depends_on: { [ROUTER_SERVICE]: { condition: 'service_healthy' } },
      healthcheck: httpHealthcheck('/health/live', 8090),
      restart: 'unless-stopped',
    },
    prometheus: {
      build: build('infra/compose/prometheus'),
      image: PROMETHEUS_IMAGE,
      command: [
        '--config.file=/etc/prometheus/prometheus.yml',
        '--storage.tsdb.path=/prometheus',
        '--web.listen-address=0.0.0.0:9090',
        // k6 pushes its samples here (loadtests/README.md).
        '--web.enable-remote-write-receiver',
      ],
      volumes: [
        './infra/prometheus/prometheus.compose.yml:/etc/prometheus/prometheus.yml:ro',
        './infra/prometheus/rules:/etc/prometheus/rules:ro',
        'prometheus-data:/prometheus',
      ],
      labels: labels('edge', 'prometheus'),
      networks: [EDGE_NETWORK],
      ports: [published(9090)],
      healthcheck: {
        test: ['CMD', 'curl', '-fsS', '-o', '/dev/null', '--max-time', '3', 'http://127.0.0.1:9090/-/ready'],
        ...HEALTH,
        start_period: '30s',
      },
      restart: 'unless-stopped',
    },
    grafana: {
      image: GRAFANA_IMAGE,
      // Upstream image: only with `--profile grafana` (nothing is pulled otherwise).
      profiles: ['grafana'],
      environment: {
        GF_SECURITY_ADMIN_USER: 'admin',
        GF_SECURITY_ADMIN_PASSWORD: secret('GRAFANA_ADMIN_PASSWORD'),
        GF_USERS_ALLOW_SIGN_UP: 'false',
        GF_ANALYTICS_REPORTING_ENABLED: 'false',
        GF_ANALYTICS_CHECK_FOR_UPDATES: 'false',
        GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: '/var/lib/grafana/dashboards/failover.json',
      },
      volumes: [
        './infra/grafana/provisioning:/etc/grafana/provisioning:ro',
        './infra/grafana/dashboards:/var/lib/grafana/dashboards:ro',
      ],
      labels: labels('edge', 'grafana'),
      networks: [EDGE_NETWORK],
      ports: [published(3000)],
      depends_on: { prometheus: { condition: 'service_healthy' } },
      healthcheck: {
        test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:3000/api/health'],
        interval: '5s',
        timeout: '3s',
        retries: 10,
      },
      restart: 'unless-stopped',
    },
    k6: {
      image: K6_IMAGE,
      profiles: ['load'],
      command: [
        'run',
        '--no-usage-report',
        '-o',
        'experimental-prometheus-rw',
        '--out',
        'json=/out/k6.jsonl',
        `/scripts/${envOr('LOAD_SCRIPT', 'failover.js')}`,
      ],
      environment: {
        K6_PROMETHEUS_RW_SERVER_URL: 'http://prometheus:9090/api/v1/write',
        K6_PROMETHEUS_RW_TREND_STATS: 'p(50),p(99),max',
        ROUTER_URL: `http://${ROUTER_SERVICE}:8080`,
        // setup() seeds the k6-acc-* payments accounts through the dc-a cell's admin API (the
        // primary at start); k6 is edge tooling, trusted like the router with the admin token.
        PAYMENTS_ADMIN_URL: `http://${containerName('payments', 'dc-a', 'app')}:${APP_PORT}`,
        ADMIN_TOKEN: secret('ADMIN_TOKEN'),
        // Not K6_*: k6 reads every K6_* variable as one of its own options (loadtests/README.md).
        LOAD_DURATION: envOr('LOAD_DURATION', '60s'),
        LOAD_RATE: envOr('LOAD_RATE', '40'),
      },
      volumes: ['./loadtests:/scripts:ro', './drill-out/k6:/out'],
      labels: labels('edge', 'k6'),
      networks: [EDGE_NETWORK],
      depends_on: { [ROUTER_SERVICE]: { condition: 'service_healthy' } },
    },
  };
}

export function buildComposeFile() {
  const services: Record<string, unknown> = {};
  for (const service of SERVICES) {
    for (const region of REGIONS) {
      services[containerName(service, region, 'postgres')] = postgresService(service, region);
      services[containerName(service, region, 'redis')] = redisService(service, region);
      services[containerName(service, region, 'app')] = appService(service, region);
    }
  }
  Object.assign(services, edgeServices());

  const volumes: Record<string, Record<string, never>> = {};
  for (const service of SERVICES) {
    for (const region of REGIONS) volumes[`${containerName(service, region, 'postgres')}-data`] = {};
  }
  volumes['router-state'] = {};
  volumes['prometheus-data'] = {};

  return {
    services,
    networks: {
      // Region networks and the replication link are internal: no route out of the lab.
      'dc-a': { internal: true },
      'dc-b': { internal: true },
      [REPLICATION_NETWORK]: { internal: true },
      // The edge publishes the router, Prometheus and Grafana on loopback, so it cannot be internal.
      // Docker picks its subnet: the apps trust the router by name (TRUSTED_PROXIES), not by address.
      [EDGE_NETWORK]: {},
    },
    volumes,
  };
}

/** The targets Prometheus scrapes in compose (kept here so the scrape config and the file agree). */
export function cellAppTargets(): { service: ServiceName; region: RegionName; target: string }[] {
  return SERVICES.flatMap((service) =>
    REGIONS.map((region) => ({
      service,
      region,
      target: `${containerName(service, region, 'app')}:${APP_PORT}`,
    })),
  );
}

/**
 * infra/compose/router.json (docs/contracts.md "Router"): network "container", cells and their
 * databases by compose DNS name (a cell's Postgres is its own container, not the app's address). No
 * adminToken in the file: the router reads ADMIN_TOKEN from its environment.
 */
export function buildRouterConfig(messaging: ServiceTopology = 'active-passive') {
  const services: Record<
    string,
    {
      mode: 'sync' | 'async';
      topology?: 'active-active';
      syncStandby: boolean;
      cells: Record<string, string>;
      postgres: Record<string, string>;
    }
  > = {};
  for (const service of SERVICES) {
    const cells: Record<string, string> = {};
    const postgres: Record<string, string> = {};
    // through the edge link to the region (buildLinksConfig), never to the cell directly
    for (const region of REGIONS) {
      cells[region] = `http://${LINKS_SERVICE}:${edgeLinkPort('app', service, region)}`;
      postgres[region] = `${LINKS_SERVICE}:${edgeLinkPort('postgres', service, region)}`;
    }
    services[service] = {
      mode: REPLICATION_MODE[service],
      ...(service === 'messaging' && messaging === 'active-active'
        ? { topology: 'active-active' as const }
        : {}),
      syncStandby: keepsSyncStandby(service),
      cells,
      postgres,
    };
  }
  return {
    network: 'container',
    listen: { host: '0.0.0.0', port: 8080 },
    stateFile: '/var/lib/failover-lab/router-state.json',
    // A crashed app is restarted by Docker's restart policy: 13 s measured on a busy 2-core host when
    // tsx compiled it at every start, against 1-3 s under the lab's supervisor. Waiting less would fail
    // a merely crashed app over.
    policy: { appRestartGraceMs: 30_000 },
    // The Postgres probe that tells a crashed app from a lost data tier crosses Docker's bridge from a
    // container that competes for the CPU: at the lab's 500 ms one probe in a busy minute timed out and
    // turned an app crash into a failover (seen at load ~35).
    probe: { timeoutMs: 1_000 },
    services,
  };
}

/**
 * infra/compose/links.json (the contract's LinksConfigFile), one listening port per link end in the
 * one links container; no `source`, the container's own address is what the far end sees:
 *   - the edge links, router → each region's cells (app and Postgres);
 *   - the replication links, the other region → each region's stores (Postgres and Redis): every
 *     standby streams from its primary through them, so the lab's replication faults
 *     (replication-partition, asymmetric) act on the same bytes here.
 */
export function buildLinksConfig(): LinksConfigFile {
  return {
    control: { host: '0.0.0.0', port: LINKS_CONTROL_PORT },
    // the container's own layer: a restart keeps the faults, a recreate starts healed
    stateFile: '/var/lib/failover-lab/links-faults.json',
    links: REGIONS.flatMap((region) =>
      SERVICES.map((service): LinksConfigFile['links'][number] => ({
        from: 'edge',
        to: region,
        service,
        host: '0.0.0.0',
        ports: [
          {
            name: 'app',
            listen: edgeLinkPort('app', service, region),
            target: { host: containerName(service, region, 'app'), port: APP_PORT },
          },
          {
            name: 'postgres',
            listen: edgeLinkPort('postgres', service, region),
            target: { host: containerName(service, region, 'postgres'), port: PG_PORT },
          },
        ],
      })),
    ).concat(
      REGIONS.flatMap((region) =>
        SERVICES.map((service) => ({
          from: otherRegion(region),
          to: region,
          service,
          host: '0.0.0.0',
          ports: [
            {
              name: 'postgres',
              listen: replicationLinkPort('postgres', service, region),
              target: { host: containerName(service, region, 'postgres'), port: PG_PORT },
            },
            {
              name: 'redis',
              listen: replicationLinkPort('redis', service, region),
              target: { host: containerName(service, region, 'redis'), port: REDIS_PORT },
            },
          ],
        })),
      ),
    ),
  };
}
