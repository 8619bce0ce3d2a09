// Cell configuration comes only from the environment (docs/contracts.md, "Cell environment").
// loadConfig collects every problem before failing so an operator fixes them all in one go.
import { REGIONS, type RegionName, SERVICES, type ServiceName } from '@failover-lab/contracts';
import { isTrustedProxyEntry } from './trusted-proxies';

export interface PublicJwk {
  kty: string;
  crv?: string;
  x?: string;
  kid: string;
  alg?: string;
  [key: string]: unknown;
}

export interface CellConfig {
  service: ServiceName;
  region: RegionName;
  host: string;
  port: number;
  databaseUrl: string;
  redisUrl: string;
  /** never logged; compared in constant time */
  adminToken: string;
  jwks: { keys: PublicJwk[] };
  /** login only: the private Ed25519 JWK that signs access tokens */
  jwtSigningKey?: PublicJwk & { d: string };
  logLevel: string;
  otlpEndpoint?: string;
  /**
   * TRUSTED_PROXIES: addresses/CIDRs/host names whose x-forwarded-for is believed (the router); empty =
   * nobody, so request.ip is the socket's address. Names are resolved by the cell (trusted-proxies.ts).
   */
  trustedProxies?: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid cell configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Addresses a cell may listen on: loopback, or every interface inside a container. */
function isAllowedListenHost(host: string): boolean {
  return (
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    host === '::1' ||
    host === 'localhost' ||
    host === '0.0.0.0'
  );
}

function parseUrl(raw: string, protocols: string[]): URL | undefined {
  try {
    const url = new URL(raw);
    return protocols.includes(url.protocol) ? url : undefined;
  } catch {
    return undefined;
  }
}

function isEd25519PublicJwk(key: unknown): key is PublicJwk {
  if (typeof key !== 'object' || key === null) return false;
  const k = key as Record<string, unknown>;
  return (
    k.kty === 'OKP' &&
    k.crv === 'Ed25519' &&
    typeof k.x === 'string' &&
    typeof k.kid === 'string' &&
    k.kid.length > 0 &&
    (k.alg === undefined || k.alg === 'EdDSA')
  );
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): CellConfig {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') {
      problems.push(`${name} is required`);
      return '';
    }
    return value;
  };

  const service = required('SERVICE_NAME');
  if (service && !SERVICES.includes(service as ServiceName)) {
    problems.push(`SERVICE_NAME must be one of ${SERVICES.join('|')}, got ${JSON.stringify(service)}`);
  }
  const region = required('REGION');
  if (region && !REGIONS.includes(region as RegionName)) {
    problems.push(`REGION must be one of ${REGIONS.join('|')}, got ${JSON.stringify(region)}`);
  }
  const host = required('HOST');
  if (host && !isAllowedListenHost(host)) {
    problems.push(
      `HOST must be a loopback address (127.x.x.x) or 0.0.0.0 in a container, got ${JSON.stringify(host)}`,
    );
  }
  const portRaw = required('PORT');
  const port = Number(portRaw);
  if (portRaw && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    problems.push(`PORT must be a port number (1-65535), got ${JSON.stringify(portRaw)}`);
  }
  const databaseUrl = required('DATABASE_URL');
  if (databaseUrl && !parseUrl(databaseUrl, ['postgres:', 'postgresql:'])) {
    problems.push('DATABASE_URL must be a postgres:// URL');
  }
  const redisUrl = required('REDIS_URL');
  if (redisUrl && !parseUrl(redisUrl, ['redis:'])) {
    problems.push('REDIS_URL must be a redis:// URL');
  }
  const adminToken = required('ADMIN_TOKEN');
  if (adminToken && adminToken.length < 16) problems.push('ADMIN_TOKEN must be at least 16 characters');

  let jwks: CellConfig['jwks'] = { keys: [] };
  const jwksRaw = required('JWT_JWKS');
  if (jwksRaw) {
    try {
      const parsed = JSON.parse(jwksRaw) as { keys?: unknown };
      if (!Array.isArray(parsed.keys) || parsed.keys.length === 0 || !parsed.keys.every(isEd25519PublicJwk)) {
        problems.push('JWT_JWKS must be {"keys":[…]} of Ed25519 public JWKs (kty OKP, crv Ed25519, x, kid)');
      } else {
        // Only public members: a private key in a verification set would be a leak waiting to happen.
        jwks = { keys: parsed.keys.map(({ d: _d, ...pub }) => pub as PublicJwk) };
      }
    } catch {
      problems.push('JWT_JWKS is not valid JSON');
    }
  }

  let jwtSigningKey: CellConfig['jwtSigningKey'];
  const signingRaw = env.JWT_SIGNING_KEY;
  if (signingRaw) {
    try {
      const parsed = JSON.parse(signingRaw) as Record<string, unknown>;
      if (!isEd25519PublicJwk(parsed) || typeof parsed.d !== 'string') {
        problems.push('JWT_SIGNING_KEY must be a private Ed25519 JWK with kid and d');
      } else {
        jwtSigningKey = parsed as PublicJwk & { d: string };
      }
    } catch {
      problems.push('JWT_SIGNING_KEY is not valid JSON');
    }
  } else if (service === 'login') {
    problems.push('JWT_SIGNING_KEY is required for the login service');
  }

  const logLevel = env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join('|')}`);

  const otlpEndpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined;
  if (otlpEndpoint && !parseUrl(otlpEndpoint, ['http:', 'https:'])) {
    problems.push('OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL');
  }

  const trustedProxies = (env.TRUSTED_PROXIES ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const badProxies = trustedProxies.filter((entry) => !isTrustedProxyEntry(entry));
  if (badProxies.length > 0) {
    problems.push(
      `TRUSTED_PROXIES must be comma-separated IP addresses, CIDRs or host names, got ${JSON.stringify(badProxies.join(','))}`,
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    service: service as ServiceName,
    region: region as RegionName,
    host,
    port,
    databaseUrl,
    redisUrl,
    adminToken,
    jwks,
    ...(jwtSigningKey ? { jwtSigningKey } : {}),
    logLevel,
    ...(otlpEndpoint ? { otlpEndpoint } : {}),
    trustedProxies,
  };
}

/** For server.ts: a configuration problem ends the process with the one clear message, no stack. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): CellConfig {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
