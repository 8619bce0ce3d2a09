// Where the lab's cells listen: one loopback address per cell, the same ports on each. The drill's
// local backend and the tests read it from here; the services and regions themselves are the contract's.
//
// Addresses: one loopback address per cell, 127.<subnet>.<region>.<service>
//   region: dc-a = 1, dc-b = 2; the edge is 127.<subnet>.0.2 (never 127.0.0.1: that is every local
//   client's default source address, so an address trusted there would trust everyone)
//   service: login = 1, payments = 2, messaging = 3
// Links (docs/contracts.md "Links"), one address each, on which the link proxy both listens and
// connects out from, so a cell sees exactly which link a connection came through:
//   edge → region's cell:        127.<subnet>.<10 + region>.<service>  (app and Postgres ports)
//   replication into region:     127.<subnet>.<20 + region>.<service>  (Postgres and Redis ports):
//     the standby in the other region reaches its primary there; after a failover, the other way
// The subnet (second octet) is 0 for the lab people run; tests pick their own so two runs never collide.
import {
  type Link,
  otherRegion,
  REGIONS,
  type RegionName,
  readEnv,
  SERVICES,
  type ServiceName,
  type ServiceTopology,
  ServiceTopologySchema,
} from '@failover-lab/contracts';
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
  /** the link proxies' control API, on the edge address */
  links: number;
}

export const DEFAULT_PORTS: Ports = {
  app: 3000,
  postgres: 5432,
  redis: 6379,
  router: 8080,
  prometheus: 9090,
  control: 7070,
  console: 8090,
  links: 7071,
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
  LAB_LINKS_PORT: port(DEFAULT_PORTS.links),
  /** messaging's topology for a lab's first `up` (docs/active-active.md); a warm lab keeps its own */
  LAB_MESSAGING_TOPOLOGY: Type.Optional(ServiceTopologySchema),
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
    links: e.LAB_LINKS_PORT,
  };
}

export function subnetFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return labEnv(env).LAB_SUBNET;
}

/** The messaging topology asked for in the environment (LAB_MESSAGING_TOPOLOGY), if any. */
export function messagingTopologyFromEnv(env: NodeJS.ProcessEnv = process.env): ServiceTopology | undefined {
  return labEnv(env).LAB_MESSAGING_TOPOLOGY;
}

export function cellHost(region: RegionName, service: ServiceName, subnet = 0): string {
  return `127.${subnet}.${REGION_OCTET[region]}.${SERVICE_OCTET[service]}`;
}

export function edgeHost(subnet = 0): string {
  return `127.${subnet}.0.2`;
}

/** The link the router reaches `region`'s cell of `service` through (its app and its Postgres). */
export function edgeLinkHost(region: RegionName, service: ServiceName, subnet = 0): string {
  return `127.${subnet}.${10 + REGION_OCTET[region]}.${SERVICE_OCTET[service]}`;
}

/** The link the other region's standby reaches `region`'s primary of `service` through. */
export function replicationLinkHost(region: RegionName, service: ServiceName, subnet = 0): string {
  return `127.${subnet}.${20 + REGION_OCTET[region]}.${SERVICE_OCTET[service]}`;
}

/** Every link of the lab, as the links process runs them (the contract's Link). */
export function labLinks(subnet: number, ports: Pick<Ports, 'app' | 'postgres' | 'redis'>): Link[] {
  return SERVICES.flatMap((service) =>
    REGIONS.flatMap((region): Link[] => {
      const cell = cellHost(region, service, subnet);
      const edge = edgeLinkHost(region, service, subnet);
      const replication = replicationLinkHost(region, service, subnet);
      return [
        {
          from: 'edge',
          to: region,
          service,
          host: edge,
          source: edge,
          ports: [
            { name: 'app', listen: ports.app, target: { host: cell, port: ports.app } },
            { name: 'postgres', listen: ports.postgres, target: { host: cell, port: ports.postgres } },
          ],
        },
        {
          from: otherRegion(region),
          to: region,
          service,
          host: replication,
          source: replication,
          ports: [
            { name: 'postgres', listen: ports.postgres, target: { host: cell, port: ports.postgres } },
            { name: 'redis', listen: ports.redis, target: { host: cell, port: ports.redis } },
          ],
        },
      ];
    }),
  );
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
  /** how messaging's two regions share its writes (the other services are always active-passive) */
  messaging: ServiceTopology;
  edge: {
    host: string;
    routerUrl: string;
    prometheusUrl: string;
    controlUrl: string;
    consoleUrl: string;
    linksUrl: string;
  };
  cells: CellAddress[];
}

export function topology(
  subnet = 0,
  ports: Ports = DEFAULT_PORTS,
  messaging: ServiceTopology = 'active-passive',
): Topology {
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
    messaging,
    edge: {
      host: edge,
      routerUrl: `http://${edge}:${ports.router}`,
      prometheusUrl: `http://${edge}:${ports.prometheus}`,
      controlUrl: `http://${edge}:${ports.control}`,
      consoleUrl: `http://${edge}:${ports.console}/`,
      linksUrl: `http://${edge}:${ports.links}`,
    },
    cells,
  };
}

export function findCell(topo: Topology, service: ServiceName, region: RegionName): CellAddress {
  const cell = topo.cells.find((c) => c.service === service && c.region === region);
  if (!cell) throw new Error(`no cell ${region}/${service}`);
  return cell;
}

/** The service's topology in this lab. */
export function serviceTopology(topo: Pick<Topology, 'messaging'>, service: ServiceName): ServiceTopology {
  return service === 'messaging' ? topo.messaging : 'active-passive';
}
