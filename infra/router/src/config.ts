// Router configuration: the JSON file named by ROUTER_CONFIG (docs/contracts.md, "Router") plus
// defaults for everything optional. Validation fails fast with every problem listed at once.

import { readFileSync } from 'node:fs';
import {
  ACTIVE_ACTIVE_SERVICES,
  isServiceName,
  NETWORK_MODES,
  type NetworkMode,
  type PolicyConfig,
  PolicyConfigSchema,
  type ProbeConfig,
  ProbeConfigSchema,
  type ProxyConfig,
  ProxyConfigSchema,
  problemsOf,
  REGIONS,
  type RegionName,
  type ReplicationMode,
  type RouterConfigFile,
  RouterConfigFileSchema,
  type ServiceConfigFile,
  type ServiceName,
} from '@failover-lab/contracts';
import { Value } from 'typebox/value';

export type { NetworkMode, PolicyConfig, ProbeConfig, ProxyConfig } from '@failover-lab/contracts';
export { NETWORK_MODES } from '@failover-lab/contracts';

export interface HostPort {
  host: string;
  port: number;
}

/** A service as the router runs it: the file's entry with its policy resolved. */
export interface ServiceConfig {
  mode: ReplicationMode;
  /** absent: active-passive; active-active: both cells take writes, routed by home region (no promotion) */
  topology?: 'active-active';
  /** the primary names its standby in synchronous_standby_names (some commits wait for it) */
  syncStandby: boolean;
  cells: Record<RegionName, string>;
  /**
   * where each cell's Postgres listens, for the liveness probe; when absent, the cell URL's host and
   * probe.postgresPort (the lab's one-address-per-cell topology)
   */
  postgres?: Record<RegionName, HostPort>;
  policy: PolicyConfig;
}

export interface RouterConfig {
  network: NetworkMode;
  listen: { host: string; port: number };
  stateFile: string;
  adminToken: string;
  services: Partial<Record<ServiceName, ServiceConfig>>;
  probe: ProbeConfig;
  proxy: ProxyConfig;
  /** bounded in-memory event ring */
  eventRingSize: number;
}

/** Every default of the contract's schemas. */
export const DEFAULT_PROBE: ProbeConfig = Value.Create(ProbeConfigSchema);
export const DEFAULT_PROXY: ProxyConfig = Value.Create(ProxyConfigSchema);
export const DEFAULT_POLICY: PolicyConfig = Value.Create(PolicyConfigSchema);
const DEFAULT_EVENT_RING_SIZE = 1000;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid router config:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export function isLoopbackHost(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host.split('.').every((o) => Number(o) <= 255);
}

export function isIpv4Literal(host: string): boolean {
  return /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host.split('.').every((o) => Number(o) <= 255);
}

/** A DNS name such as a compose service name (`payments-dc-a-app`); no ports, no paths. */
export function isDnsName(host: string): boolean {
  return (
    host.length <= 253 &&
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(host) &&
    !/^[\d.]+$/.test(host) // all digits and dots is an (invalid) address, not a name
  );
}

/** The hosts a mode lets the router reach (cells and their databases). */
function isReachableHost(host: string, network: NetworkMode): boolean {
  if (network === 'loopback') return isLoopbackHost(host);
  return isIpv4Literal(host) || isDnsName(host);
}

const HOST_RULE: Record<NetworkMode, string> = {
  loopback: '127.x.y.z',
  container: '<dns-name> or an IPv4 address',
};

/** "host:port" → HostPort, or null when either part is not allowed in this mode. */
function parseHostPort(raw: unknown, network: NetworkMode): HostPort | null {
  if (typeof raw !== 'string') return null;
  const match = /^([^:]+):(\d{1,5})$/.exec(raw);
  if (!match) return null;
  const port = Number(match[2]);
  if (!isReachableHost(match[1]!, network) || port < 1 || port > 65_535) return null;
  return { host: match[1]!, port };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validate a parsed config file; `env.ADMIN_TOKEN` wins over a token in the file. Shape, bounds and
 * defaults are the contract's (RouterConfigFileSchema); which hosts are allowed depends on the
 * network mode, and is checked here. Every problem is reported at once.
 */
export function parseRouterConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): RouterConfig {
  if (!isObject(raw)) throw new ConfigError(['the config must be a JSON object']);
  const problems: string[] = [];

  const givenNetwork = raw.network ?? 'loopback';
  const known = (NETWORK_MODES as readonly unknown[]).includes(givenNetwork);
  if (!known) problems.push(`network must be "loopback" or "container", got ${JSON.stringify(raw.network)}`);
  // An unknown mode is checked as loopback, the strict one.
  const network: NetworkMode = known ? (givenNetwork as NetworkMode) : 'loopback';
  problems.push(...problemsOf(RouterConfigFileSchema, { ...raw, network }));
  const file = raw as RouterConfigFile;

  const listenHost = isObject(raw.listen) ? raw.listen.host : undefined;
  if (typeof listenHost === 'string') {
    if (network === 'container' && !isIpv4Literal(listenHost)) {
      problems.push(
        `listen.host must be 0.0.0.0 or an IPv4 address in container mode, got ${JSON.stringify(listenHost)}`,
      );
    } else if (network === 'loopback' && !isLoopbackHost(listenHost)) {
      problems.push(
        `listen.host must be a 127.x.y.z address (or set "network": "container" inside a container), got ${JSON.stringify(listenHost)}`,
      );
    }
  }

  const adminToken = env.ADMIN_TOKEN || (typeof raw.adminToken === 'string' ? raw.adminToken : '');
  if (adminToken.length < 16)
    problems.push('an admin token of at least 16 characters is required (ADMIN_TOKEN)');

  const globalPolicy = { ...DEFAULT_POLICY, ...(isObject(raw.policy) ? raw.policy : {}) } as PolicyConfig;
  const services: Partial<Record<ServiceName, ServiceConfig>> = {};
  for (const [name, svc] of Object.entries(isObject(raw.services) ? raw.services : {})) {
    if (!isServiceName(name) || !isObject(svc)) continue; // the schema said why
    const where = `services.${name}`;
    const cells = {} as Record<RegionName, string>;
    for (const region of REGIONS) {
      const url = isObject(svc.cells) ? svc.cells[region] : undefined;
      if (typeof url !== 'string') continue;
      const origin = cellOrigin(url, network);
      if (origin === null) {
        problems.push(
          `${where}.cells.${region} must be an http://${HOST_RULE[network]}:port URL` +
            (network === 'loopback' ? ' (container names need "network": "container")' : ''),
        );
      } else cells[region] = origin;
    }
    let postgres: Record<RegionName, HostPort> | undefined;
    if (isObject(svc.postgres)) {
      postgres = {} as Record<RegionName, HostPort>;
      for (const region of REGIONS) {
        if (typeof svc.postgres[region] !== 'string') continue; // the schema said why
        const address = parseHostPort(svc.postgres[region], network);
        if (!address) problems.push(`${where}.postgres.${region} must be "${HOST_RULE[network]}:port"`);
        else postgres[region] = address;
      }
    }
    const entry = svc as ServiceConfigFile;
    if (entry.topology === 'active-active' && !ACTIVE_ACTIVE_SERVICES.includes(name)) {
      problems.push(`${where}.topology: active-active is for ${ACTIVE_ACTIVE_SERVICES.join(', ')} only`);
    }
    services[name] = {
      mode: entry.mode,
      ...(entry.topology === 'active-active' ? { topology: 'active-active' as const } : {}),
      syncStandby: entry.syncStandby ?? entry.mode === 'sync',
      cells,
      ...(postgres ? { postgres } : {}),
      policy: { ...globalPolicy, ...(entry.policy ?? {}) },
    };
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    network,
    listen: { host: file.listen.host, port: file.listen.port },
    stateFile: file.stateFile,
    adminToken,
    services,
    probe: { ...DEFAULT_PROBE, ...file.probe },
    proxy: { ...DEFAULT_PROXY, ...file.proxy },
    eventRingSize: file.eventRingSize ?? DEFAULT_EVENT_RING_SIZE,
  };
}

/** The URL's origin when it is a plain http:// URL to a host this mode may reach; else null. */
function cellOrigin(url: string, network: NetworkMode): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  const plain = parsed.protocol === 'http:' && parsed.username === '' && parsed.password === '';
  return plain && isReachableHost(parsed.hostname, network) ? parsed.origin : null;
}

export function loadRouterConfig(env: NodeJS.ProcessEnv = process.env): RouterConfig {
  const path = env.ROUTER_CONFIG;
  if (!path) throw new ConfigError(['ROUTER_CONFIG (path to the router JSON config) is required']);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([`cannot read ROUTER_CONFIG ${path}: ${(err as Error).message}`]);
  }
  return parseRouterConfig(raw, env);
}
