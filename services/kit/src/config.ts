// Cell configuration comes only from the environment (docs/contracts.md, "Cell environment"; the
// contract's CellEnvSchema). loadConfig collects every problem before failing so an operator fixes
// them all in one go.
import { CellEnvSchema, type RegionName, readEnv, type ServiceName } from '@failover-lab/contracts';
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
  /** messaging: active-active when MESSAGING_TOPOLOGY says so (docs/active-active.md); absent: active-passive */
  topology?: 'active-active';
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid cell configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
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
  // names, presence, closed lists and bounds: the contract's schema; what it cannot say, below
  const { value: vars, problems } = readEnv(CellEnvSchema, env);

  if (vars.DATABASE_URL && !parseUrl(vars.DATABASE_URL, ['postgres:', 'postgresql:'])) {
    problems.push('DATABASE_URL must be a postgres:// URL');
  }
  if (vars.REDIS_URL && !parseUrl(vars.REDIS_URL, ['redis:']))
    problems.push('REDIS_URL must be a redis:// URL');

  let jwks: CellConfig['jwks'] = { keys: [] };
  if (vars.JWT_JWKS) {
    try {
      const parsed = JSON.parse(vars.JWT_JWKS) as { keys?: unknown };
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
  if (vars.JWT_SIGNING_KEY) {
    try {
      const parsed = JSON.parse(vars.JWT_SIGNING_KEY) as Record<string, unknown>;
      if (!isEd25519PublicJwk(parsed) || typeof parsed.d !== 'string') {
        problems.push('JWT_SIGNING_KEY must be a private Ed25519 JWK with kid and d');
      } else {
        jwtSigningKey = parsed as PublicJwk & { d: string };
      }
    } catch {
      problems.push('JWT_SIGNING_KEY is not valid JSON');
    }
  } else if (vars.SERVICE_NAME === 'login') {
    problems.push('JWT_SIGNING_KEY is required for the login service');
  }

  const otlpEndpoint = vars.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (otlpEndpoint && !parseUrl(otlpEndpoint, ['http:', 'https:'])) {
    problems.push('OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL');
  }

  const trustedProxies = (vars.TRUSTED_PROXIES ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const badProxies = trustedProxies.filter((entry) => !isTrustedProxyEntry(entry));
  if (badProxies.length > 0) {
    problems.push(
      `TRUSTED_PROXIES must be comma-separated IP addresses, CIDRs or host names, got ${JSON.stringify(badProxies.join(','))}`,
    );
  }

  if (vars.MESSAGING_TOPOLOGY === 'active-active' && vars.SERVICE_NAME !== 'messaging') {
    problems.push('MESSAGING_TOPOLOGY=active-active is for the messaging service only');
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    service: vars.SERVICE_NAME,
    region: vars.REGION,
    host: vars.HOST,
    port: vars.PORT,
    databaseUrl: vars.DATABASE_URL,
    redisUrl: vars.REDIS_URL,
    adminToken: vars.ADMIN_TOKEN,
    jwks,
    ...(jwtSigningKey ? { jwtSigningKey } : {}),
    logLevel: vars.LOG_LEVEL,
    ...(otlpEndpoint ? { otlpEndpoint } : {}),
    trustedProxies,
    ...(vars.MESSAGING_TOPOLOGY === 'active-active' ? { topology: 'active-active' as const } : {}),
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
