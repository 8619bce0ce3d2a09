// The lab's topology: which cells exist, where each one listens. Lab, router, drill and the
// compose checks all read it from here so the two ways of running the platform cannot drift.
//
// Addresses: one loopback address per cell, 127.<subnet>.<region>.<service>
//   region: dc-a = 1, dc-b = 2; edge = 0 (127.<subnet>.0.1)
//   service: login = 1, payments = 2, messaging = 3
// The subnet (second octet) is 0 for the lab people run; tests pick their own so two runs never collide.

export const SERVICES = ['login', 'payments', 'messaging'] as const;
export type ServiceName = (typeof SERVICES)[number];

export const REGIONS = ['dc-a', 'dc-b'] as const;
export type RegionName = (typeof REGIONS)[number];

export const COMPONENTS = ['postgres', 'redis', 'app'] as const;
export type ComponentName = (typeof COMPONENTS)[number];

/** How a service's primary replicates to its standby (DESIGN.md, Data tier). */
export const REPLICATION_MODE: Record<ServiceName, 'sync' | 'async'> = {
  login: 'async',
  payments: 'sync',
  messaging: 'async',
};

const REGION_OCTET: Record<RegionName, number> = { 'dc-a': 1, 'dc-b': 2 };
const SERVICE_OCTET: Record<ServiceName, number> = { login: 1, payments: 2, messaging: 3 };

export interface Ports {
  app: number;
  postgres: number;
  redis: number;
  router: number;
  prometheus: number;
  /** the lab supervisor's control API, on the edge address */
  control: number;
  /** the lab console (web page), on the edge address */
  console: number;
}

export const DEFAULT_PORTS: Ports = {
  app: 3000,
  postgres: 5432,
  redis: 6379,
  router: 8080,
  prometheus: 9090,
  control: 7070,
  console: 8090,
};

/** Ports from the environment (LAB_APP_PORT, LAB_PG_PORT, …), defaulting to DEFAULT_PORTS. */
export function portsFromEnv(env: NodeJS.ProcessEnv = process.env): Ports {
  const read = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`${name} must be a port number (1-65535), got ${JSON.stringify(raw)}`);
    }
    return port;
  };
  return {
    app: read('LAB_APP_PORT', DEFAULT_PORTS.app),
    postgres: read('LAB_PG_PORT', DEFAULT_PORTS.postgres),
    redis: read('LAB_REDIS_PORT', DEFAULT_PORTS.redis),
    router: read('LAB_ROUTER_PORT', DEFAULT_PORTS.router),
    prometheus: read('LAB_PROMETHEUS_PORT', DEFAULT_PORTS.prometheus),
    control: read('LAB_CONTROL_PORT', DEFAULT_PORTS.control),
    console: read('LAB_CONSOLE_PORT', DEFAULT_PORTS.console),
  };
}

/** The second octet of every lab address (LAB_SUBNET, 0-254). */
export function subnetFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.LAB_SUBNET;
  if (raw === undefined || raw === '') return 0;
  const subnet = Number(raw);
  if (!Number.isInteger(subnet) || subnet < 0 || subnet > 254) {
    throw new Error(`LAB_SUBNET must be an integer 0-254, got ${JSON.stringify(raw)}`);
  }
  return subnet;
}

export function cellHost(region: RegionName, service: ServiceName, subnet = 0): string {
  return `127.${subnet}.${REGION_OCTET[region]}.${SERVICE_OCTET[service]}`;
}

export function edgeHost(subnet = 0): string {
  return `127.${subnet}.0.1`;
}

export function otherRegion(region: RegionName): RegionName {
  return region === 'dc-a' ? 'dc-b' : 'dc-a';
}

export interface CellAddress {
  service: ServiceName;
  region: RegionName;
  host: string;
  appUrl: string;
  postgres: { host: string; port: number };
  redis: { host: string; port: number };
}

export interface Topology {
  subnet: number;
  ports: Ports;
  edge: { host: string; routerUrl: string; prometheusUrl: string; controlUrl: string; consoleUrl: string };
  cells: CellAddress[];
}

export function topology(subnet = 0, ports: Ports = DEFAULT_PORTS): Topology {
  const edge = edgeHost(subnet);
  const cells: CellAddress[] = [];
  for (const service of SERVICES) {
    for (const region of REGIONS) {
      const host = cellHost(region, service, subnet);
      cells.push({
        service,
        region,
        host,
        appUrl: `http://${host}:${ports.app}`,
        postgres: { host, port: ports.postgres },
        redis: { host, port: ports.redis },
      });
    }
  }
  return {
    subnet,
    ports,
    edge: {
      host: edge,
      routerUrl: `http://${edge}:${ports.router}`,
      prometheusUrl: `http://${edge}:${ports.prometheus}`,
      controlUrl: `http://${edge}:${ports.control}`,
      consoleUrl: `http://${edge}:${ports.console}/`,
    },
    cells,
  };
}

export function findCell(topo: Topology, service: ServiceName, region: RegionName): CellAddress {
  const cell = topo.cells.find((c) => c.service === service && c.region === region);
  if (!cell) throw new Error(`no cell ${region}/${service}`);
  return cell;
}
