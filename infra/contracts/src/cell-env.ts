// The environment every cell starts with (docs/contracts.md, "Cell environment"): the lab and
// docker-compose pass exactly these names; the cell kit reads them with this schema.
import { Type } from 'typebox';
import { RegionNameSchema, ServiceNameSchema, ServiceTopologySchema } from './vocabulary';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const CellEnvSchema = Type.Object({
  SERVICE_NAME: ServiceNameSchema,
  REGION: RegionNameSchema,
  /** where the app listens: the cell's own loopback address, or every interface inside a container */
  HOST: Type.String({
    pattern: '^(127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}|::1|localhost|0\\.0\\.0\\.0)$',
    expected: 'a loopback address (127.x.x.x) or 0.0.0.0 in a container',
  }),
  PORT: Type.Integer({ minimum: 1, maximum: 65_535 }),
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://', expected: 'a postgres:// URL' }),
  REDIS_URL: Type.String({ pattern: '^redis://', expected: 'a redis:// URL' }),
  /** bearer token of the admin API; never logged */
  ADMIN_TOKEN: Type.String({ minLength: 16 }),
  /** JSON {"keys":[…]} of Ed25519 public JWKs */
  JWT_JWKS: Type.String({ minLength: 1 }),
  /** login only: the private Ed25519 JWK that signs access tokens */
  JWT_SIGNING_KEY: Type.Optional(Type.String()),
  LOG_LEVEL: Type.Enum(LOG_LEVELS, { default: 'info' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(
    Type.String({ pattern: '^https?://', expected: 'an http(s) URL' }),
  ),
  /** messaging only: active-passive (default) or active-active (docs/active-active.md) */
  MESSAGING_TOPOLOGY: Type.Optional(ServiceTopologySchema),
  /** comma-separated IPs, CIDRs or host names whose x-forwarded-for is believed */
  TRUSTED_PROXIES: Type.Optional(Type.String()),
});
