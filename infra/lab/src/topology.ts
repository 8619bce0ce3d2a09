// Where the lab's cells listen: one loopback address per cell, the same ports on each. The drill's
// local backend and the tests read it from here; the services and regions themselves are the contract's.
//
// Addresses: one loopback address per cell, 127.<subnet>.<region>.<service>
//   region: dc-a = 1, dc-b = 2; edge = 0 (127.<subnet>.0.1)
//   service: login = 1, payments = 2, messaging = 3
// The subnet (second octet) is 0 for the lab people run; tests pick their own so two runs never collide.
import { REGIONS, type RegionName, readEnv, SERVICES, type ServiceName } from '@failover-lab/contracts';
import { Type } from 'typebox';

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

const port = (fallback: number) => Type.Integer({ minimum: 1, maximum: 65_535, default: fallback });

/** Where a lab listens, from the environment (LAB_SUBNET, LAB_APP_PORT, …); DEFAULT_PORTS otherwise. */
const LabEnvSchema = Type.Object({
  /** the second octet of every lab address: 0 for the lab people run, 100-250 for tests */
  LAB_SUBNET: Type.Integer({ minimum: 0, maximum: 254, default: 0 }),
  LAB_APP_PORT: port(DEFAULT_PORTS.app),
  LAB_PG_PORT: port(DEFAULT_PORTS.postgres),
  LAB_REDIS_PORT: port(DEFAULT_PORTS.redis),
  LAB_ROUTER_PORT: port(DEFAULT_PORTS.router),
  LAB_PROMETHEUS_PORT: port(DEFAULT_PORTS.prometheus),
  LAB_CONTROL_PORT: port(DEFAULT_PORTS.control),
  LAB_CONSOLE_PORT: port(DEFAULT_PORTS.console),
});

function labEnv(env: NodeJS.ProcessEnv) {
  const { value, problems } = readEnv(LabEnvSchema, env);
  if (problems.length > 0) throw new Error(`invalid lab environment: ${problems.join('; ')}`);
  return value;
}

export function portsFromEnv(env: NodeJS.ProcessEnv = process.env): Ports {
  const e = labEnv(env);
  return {
    app: e.LAB_APP_PORT,
    postgres: e.LAB_PG_PORT,
    redis: e.LAB_REDIS_PORT,
    router: e.LAB_ROUTER_PORT,
    prometheus: e.LAB_PROMETHEUS_PORT,
    control: e.LAB_CONTROL_PORT,
    console: e.LAB_CONSOLE_PORT,
  };
}

export function subnetFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return labEnv(env).LAB_SUBNET;
}

export function cellHost(region: RegionName, service: ServiceName, subnet = 0): string {
  return `127.${subnet}.${REGION_OCTET[region]}.${SERVICE_OCTET[service]}`;
}

export function edgeHost(subnet = 0): string {
  return `127.${subnet}.0.1`;
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
