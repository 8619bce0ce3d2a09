// Router configuration: the JSON file named by ROUTER_CONFIG (docs/contracts.md, "Router") plus
// defaults for everything optional. Validation fails fast with every problem listed at once.

import { readFileSync } from 'node:fs';
import { REGIONS, type RegionName, SERVICES, type ServiceName } from '@failover-lab/contracts';

export interface ProbeConfig {
  /** time between active probes of one cell */
  intervalMs: number;
  /** a probe not answered within this counts as failed */
  timeoutMs: number;
  /** consecutive failed probes before a cell is confirmed down */
  fall: number;
  /** consecutive good probes before a suspected or down cell counts as up again */
  rise: number;
  /** interval of the re-probe burst a passive signal (refused/reset/timeout) triggers */
  burstIntervalMs: number;
  /**
   * no automatic failover this long after the router starts: a router restarting on a starved machine
   * must not mistake its own slow first probes for a dead primary
   */
  startupGraceMs: number;
  /** where each cell's Postgres listens (on the cell's own address, docs/contracts.md "Topology") */
  postgresPort: number;
}

export interface ProxyConfig {
  /**
   * time to wait for an upstream's response headers; also the budget stamped on each attempt as
   * x-request-deadline, and so the longest a failover away from a frozen primary waits for the writes
   * it holds to expire (controller.waitForAbandonedWrites). Keep it ≤ holdMs.
   */
  requestTimeoutMs: number;
  /** idle time allowed between body chunks of a normal (non-SSE) response */
  bodyTimeoutMs: number;
  connectTimeoutMs: number;
  /** how long a retry-safe request may wait for a primary during a failover */
  holdMs: number;
  maxBodyBytes: number;
  /** connections per cell in the keep-alive pool */
  connectionsPerCell: number;
}

export interface PolicyConfig {
  /** async services: refuse automatic failover when the standby's last known lag exceeds this */
  maxFailoverLagBytes: number;
  /** sync services: put the standby back into synchronous_standby_names only once it lags less than this */
  syncRestoreMaxLagBytes: number;
  /** sync services: refuse writes (ROUTER_ERR_SYNC_STANDBY_LOST) instead of degrading to async */
  strictSync: boolean;
  /** bound on one admin call (promote waits for pg_promote) */
  adminTimeoutMs: number;
  /** planned switchover: how long to wait for the standby to replay up to the primary's WAL position */
  switchoverCatchUpMs: number;
  /**
   * a primary whose app is gone but whose Postgres still answers is given this long to be restarted
   * in place by its supervisor before it is failed over (a crashed app is not a lost region)
   */
  appRestartGraceMs: number;
  /**
   * fail over only to a standby that has passed every probe for this long: when both regions fail
   * probes together, the router or its host is the likelier culprit (seen on a starved CI machine)
   */
  standbySteadyMs: number;
}

export interface HostPort {
  host: string;
  port: number;
}

export interface ServiceConfig {
  mode: 'sync' | 'async';
  cells: Record<RegionName, string>;
  /**
   * where each cell's Postgres listens, for the liveness probe; when absent, the cell URL's host and
   * probe.postgresPort (the lab's one-address-per-cell topology)
   */
  postgres?: Record<RegionName, HostPort>;
  policy: PolicyConfig;
}

/**
 * "loopback" (default, the lab): every address is 127.x.y.z and the admin API answers loopback callers
 * only. "container" (docker-compose): the router listens on 0.0.0.0 or an IPv4 literal, reaches cells
 * and databases by DNS name, and the admin API takes any caller with the token (compose publishes the
 * router on 127.0.0.1 only).
 */
export type NetworkMode = 'loopback' | 'container';
export const NETWORK_MODES: readonly NetworkMode[] = ['loopback', 'container'];

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

export const DEFAULT_PROBE: ProbeConfig = {
  intervalMs: 200,
  timeoutMs: 500,
  fall: 3,
  rise: 2,
  burstIntervalMs: 50,
  startupGraceMs: 3_000,
  postgresPort: 5432,
};

export const DEFAULT_PROXY: ProxyConfig = {
  requestTimeoutMs: 5_000,
  bodyTimeoutMs: 30_000,
  connectTimeoutMs: 1_000,
  holdMs: 5_000,
  maxBodyBytes: 1_048_576,
  connectionsPerCell: 64,
};

export const DEFAULT_POLICY: PolicyConfig = {
  maxFailoverLagBytes: 16 * 1024 * 1024,
  syncRestoreMaxLagBytes: 1024 * 1024,
  strictSync: false,
  adminTimeoutMs: 15_000,
  switchoverCatchUpMs: 10_000,
  appRestartGraceMs: 15_000,
  standbySteadyMs: 2_000,
};

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

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function readNumbers<T extends object>(
  raw: unknown,
  defaults: T,
  where: string,
  problems: string[],
  rules: Partial<Record<keyof T, { min: number; max: number }>>,
): T {
  const out = { ...defaults };
  if (raw === undefined) return out;
  if (!isObject(raw)) {
    problems.push(`${where} must be an object`);
    return out;
  }
  for (const [key, value] of Object.entries(raw)) {
    if (!(key in defaults)) {
      problems.push(`${where}.${key} is not a known setting`);
      continue;
    }
    const current = (defaults as Record<string, unknown>)[key];
    if (typeof current === 'boolean') {
      if (typeof value !== 'boolean') problems.push(`${where}.${key} must be true or false`);
      else (out as Record<string, unknown>)[key] = value;
      continue;
    }
    const rule = rules[key as keyof T] ?? { min: 0, max: Number.MAX_SAFE_INTEGER };
    if (typeof value !== 'number' || !Number.isInteger(value) || value < rule.min || value > rule.max) {
      problems.push(`${where}.${key} must be an integer ${rule.min}-${rule.max}`);
      continue;
    }
    (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

/** Validate a parsed config object; `env.ADMIN_TOKEN` wins over a token in the file. */
export function parseRouterConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): RouterConfig {
  const problems: string[] = [];
  if (!isObject(raw)) throw new ConfigError(['the config must be a JSON object']);

  const givenNetwork = (raw.network ?? 'loopback') as NetworkMode;
  if (!NETWORK_MODES.includes(givenNetwork)) {
    problems.push(`network must be "loopback" or "container", got ${JSON.stringify(raw.network)}`);
  }
  // An unknown mode is checked as loopback, the strict one.
  const network: NetworkMode = NETWORK_MODES.includes(givenNetwork) ? givenNetwork : 'loopback';

  const listen = raw.listen;
  let host = '';
  let port = 0;
  if (!isObject(listen)) problems.push('listen {host, port} is required');
  else {
    host = String(listen.host ?? '');
    port = Number(listen.port);
    if (network === 'container') {
      if (!isIpv4Literal(host))
        problems.push(
          `listen.host must be 0.0.0.0 or an IPv4 address in container mode, got ${JSON.stringify(listen.host)}`,
        );
    } else if (!isLoopbackHost(host))
      problems.push(
        `listen.host must be a 127.x.y.z address (or set "network": "container" inside a container), got ${JSON.stringify(listen.host)}`,
      );
    if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push('listen.port must be 0-65535');
  }

  const stateFile = raw.stateFile;
  if (typeof stateFile !== 'string' || stateFile === '') problems.push('stateFile (path) is required');

  const adminToken = env.ADMIN_TOKEN || (typeof raw.adminToken === 'string' ? raw.adminToken : '');
  if (adminToken.length < 16)
    problems.push('an admin token of at least 16 characters is required (ADMIN_TOKEN)');

  const probe = readNumbers(raw.probe, DEFAULT_PROBE, 'probe', problems, {
    intervalMs: { min: 10, max: 60_000 },
    timeoutMs: { min: 10, max: 60_000 },
    fall: { min: 1, max: 100 },
    rise: { min: 1, max: 100 },
    burstIntervalMs: { min: 5, max: 60_000 },
    startupGraceMs: { min: 0, max: 600_000 },
    postgresPort: { min: 1, max: 65_535 },
  });
  const proxy = readNumbers(raw.proxy, DEFAULT_PROXY, 'proxy', problems, {
    requestTimeoutMs: { min: 10, max: 600_000 },
    bodyTimeoutMs: { min: 0, max: 3_600_000 },
    connectTimeoutMs: { min: 10, max: 60_000 },
    holdMs: { min: 0, max: 120_000 },
    maxBodyBytes: { min: 1, max: 64 * 1024 * 1024 },
    connectionsPerCell: { min: 1, max: 4096 },
  });
  const globalPolicy = readNumbers(raw.policy, DEFAULT_POLICY, 'policy', problems, {});

  const services: Partial<Record<ServiceName, ServiceConfig>> = {};
  if (!isObject(raw.services) || Object.keys(raw.services).length === 0) {
    problems.push('services must name at least one service');
  } else {
    for (const [name, svc] of Object.entries(raw.services)) {
      if (!(SERVICES as readonly string[]).includes(name)) {
        problems.push(`services.${name}: unknown service (known: ${SERVICES.join(', ')})`);
        continue;
      }
      if (!isObject(svc)) {
        problems.push(`services.${name} must be an object`);
        continue;
      }
      const mode = svc.mode;
      if (mode !== 'sync' && mode !== 'async')
        problems.push(`services.${name}.mode must be "sync" or "async"`);
      const cells = {} as Record<RegionName, string>;
      if (!isObject(svc.cells)) problems.push(`services.${name}.cells must map dc-a and dc-b to URLs`);
      else {
        for (const region of REGIONS) {
          const url = svc.cells[region];
          let parsed: URL | null = null;
          try {
            parsed = typeof url === 'string' ? new URL(url) : null;
          } catch {
            parsed = null;
          }
          if (
            parsed?.protocol !== 'http:' ||
            !isReachableHost(parsed.hostname, network) ||
            parsed.username !== '' ||
            parsed.password !== ''
          ) {
            problems.push(
              `services.${name}.cells.${region} must be an http://${HOST_RULE[network] ?? '127.x.y.z'}:port URL` +
                (network === 'loopback' ? ' (container names need "network": "container")' : ''),
            );
          } else cells[region] = parsed.origin;
        }
      }
      let postgres: Record<RegionName, HostPort> | undefined;
      if (svc.postgres !== undefined) {
        if (!isObject(svc.postgres))
          problems.push(`services.${name}.postgres must map dc-a and dc-b to "host:port"`);
        else {
          postgres = {} as Record<RegionName, HostPort>;
          for (const key of Object.keys(svc.postgres)) {
            if (!(REGIONS as readonly string[]).includes(key))
              problems.push(
                `services.${name}.postgres.${key}: unknown region (known: ${REGIONS.join(', ')})`,
              );
          }
          for (const region of REGIONS) {
            const address = parseHostPort(svc.postgres[region], network);
            if (!address)
              problems.push(
                `services.${name}.postgres.${region} must be "${HOST_RULE[network] ?? '127.x.y.z'}:port"`,
              );
            else postgres[region] = address;
          }
        }
      }
      const policy = readNumbers(svc.policy, globalPolicy, `services.${name}.policy`, problems, {});
      services[name as ServiceName] = {
        mode: mode as 'sync' | 'async',
        cells,
        ...(postgres ? { postgres } : {}),
        policy,
      };
    }
  }

  const eventRingSize = raw.eventRingSize === undefined ? 1000 : Number(raw.eventRingSize);
  if (!Number.isInteger(eventRingSize) || eventRingSize < 10)
    problems.push('eventRingSize must be an integer ≥ 10');

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    network,
    listen: { host, port },
    stateFile: stateFile as string,
    adminToken,
    services,
    probe,
    proxy,
    eventRingSize,
  };
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
