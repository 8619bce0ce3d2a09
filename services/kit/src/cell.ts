// buildCell: one fastify app with everything a cell shares (pg, redis, role/epoch/fencing, health,
// admin, metrics, tracing, tokens, errors) around the service's own routes. Not listening: tests use
// app.inject() or listen themselves; server.ts calls runServer.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import { SpanStatusCode, type Tracer } from '@opentelemetry/api';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { adminPlugin } from './admin';
import { bearerToken, createTokenVerifier, type TokenUser } from './auth';
import { CellState } from './cell-state';
import type { CellConfig } from './config';
import { applyMigrations, createPool, isConnectionError, READ_ONLY_SQLSTATE } from './db';
import { registerDeadlineScope } from './deadline';
import { adminErrors, type ErrorTable, isKnownError } from './errors';
import { healthRoutes } from './health';
import { loggerOptions } from './logger';
import { type CellMetrics, createMetrics } from './metrics';
import { createRedis } from './redis';
import { getTracer, startTracing } from './tracing';
import { createProxyTrust, type Lookup } from './trusted-proxies';

declare module 'fastify' {
  interface FastifyInstance {
    config: CellConfig;
    pg: pg.Pool;
    /** a separate two-connection pool for health checks, so a busy app pool can't fail readiness */
    healthPool: pg.Pool;
    /**
     * the admin API's own pool: promote/sync must work while every app connection hangs in a
     * synchronous commit waiting for a lost standby (that is exactly when the controller calls sync)
     */
    adminPool: pg.Pool;
    redis: Redis;
    cell: CellState;
    errors: ErrorTable;
    metrics: CellMetrics;
    tracer: Tracer;
    /**
     * applies the kit's and the service's migrations (idempotent, under an advisory lock): at start on
     * a primary, and after a promotion, so a standby running newer code than the primary it replaced
     * (a rolling deploy caught by a failover) does not serve without its schema
     */
    applyMigrations: (pool: pg.Pool) => Promise<string[]>;
    /** preHandler: verifies the bearer token and sets request.user, else 401 <SVC>_ERR_UNAUTHORIZED */
    authenticate: (request: FastifyRequest) => Promise<void>;
  }
  interface FastifyRequest {
    user: TokenUser | null;
  }
}

export interface BuildCellOptions {
  config: CellConfig;
  /** NNN_name.sql files, applied in order on the primary only, after the kit's own */
  migrationsDir: string;
  errors: ErrorTable;
  routes: FastifyPluginAsync;
  adminRoutes?: FastifyPluginAsync;
  /** tests: capture logs */
  logStream?: NodeJS.WritableStream;
  /** app pool size (default 10) */
  poolMax?: number;
  /** how often the cached role/epoch is re-read (default 250 ms) */
  roleRefreshMs?: number;
  bodyLimitBytes?: number;
  /** tests: how TRUSTED_PROXIES host names are resolved (default: the system's dns.lookup) */
  trustedProxyLookup?: Lookup;
}

const UNDEFINED_TABLE_SQLSTATE = '42P01';
const KIT_MIGRATIONS = fileURLToPath(new URL('./migrations', import.meta.url));

function isRedisUnavailable(err: unknown): boolean {
  const message = (err as Error)?.message ?? '';
  return /enableOfflineQueue|Connection is closed|Command timed out|ECONNREFUSED/.test(message);
}

function sendError(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).send({ error: { code, message } });
}

async function waitForPostgres(cell: CellState, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await cell.refresh();
    if (cell.lastRefreshOk || cell.inRecovery !== null) return;
    if (Date.now() > deadline) throw new Error(`Postgres for ${cell.service}/${cell.region} unreachable`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function buildCell(opts: BuildCellOptions): Promise<FastifyInstance> {
  const { config, errors } = opts;
  startTracing(config.otlpEndpoint, config.service);
  const trustedProxies = config.trustedProxies ?? [];
  const proxyTrust = createProxyTrust(trustedProxies, {
    ...(opts.trustedProxyLookup ? { lookup: opts.trustedProxyLookup } : {}),
    // app.log exists by the time a name is first resolved (start() below)
    log: {
      warn: (obj, msg) => app.log.warn(obj, msg),
      info: (obj, msg) => app.log.info(obj, msg),
    },
  });
  const app = Fastify({
    logger: loggerOptions(
      config.logLevel,
      { service: config.service, region: config.region },
      opts.logStream,
    ),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    bodyLimit: opts.bodyLimitBytes ?? 1024 * 1024,
    // request.ip (login's per-IP sign-in limit) follows x-forwarded-for only when the socket peer is a
    // trusted proxy (the router); nobody by default, so a client cannot pick its own address. A
    // function, not a list: host names among the entries are re-resolved while the cell runs.
    trustProxy: trustedProxies.length > 0 ? proxyTrust.trust : false,
    // Params like /accounts/:id must not be silently truncated; let them reach validation.
    routerOptions: { maxParamLength: 512 },
    // Errors raised before routing (a malformed %-escape in the URL) get the same error body.
    frameworkErrors: (error, _request, reply) => {
      void sendError(reply as unknown as FastifyReply, 400, errors.codeOf('VALIDATION'), error.message);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  // TypeBox validation does not coerce bodies: "100" is not an amount.
  app.setValidatorCompiler(TypeBoxValidatorCompiler);

  const pool = createPool(config.databaseUrl, { max: opts.poolMax ?? 10 });
  const healthPool = createPool(config.databaseUrl, { max: 2, statementTimeoutMs: 1_000 });
  // pg_promote(true, 10) may legitimately take 10 s
  const adminPool = createPool(config.databaseUrl, { max: 2, statementTimeoutMs: 15_000 });
  const redis = createRedis(config.redisUrl);
  // The role refresh uses the health pool: a saturated app pool must not freeze the cached role.
  const cell = new CellState(config.service, config.region, healthPool, errors);
  const metrics = createMetrics(cell);
  const tracer = getTracer(config.service);
  const verifyToken = createTokenVerifier(config.jwks);

  app.decorate('config', config);
  app.decorate('pg', pool);
  app.decorate('healthPool', healthPool);
  app.decorate('adminPool', adminPool);
  app.decorate('redis', redis);
  app.decorate('cell', cell);
  app.decorate('errors', errors);
  app.decorate('metrics', metrics);
  app.decorate('tracer', tracer);
  const migrationSets = [
    { namespace: 'kit', dir: KIT_MIGRATIONS },
    { namespace: config.service, dir: opts.migrationsDir },
  ];
  app.decorate('applyMigrations', (on: pg.Pool) => applyMigrations(on, migrationSets));
  app.decorateRequest('user', null);
  app.decorate('authenticate', async (request: FastifyRequest) => {
    const token = bearerToken(request);
    if (!token) throw errors.make('UNAUTHORIZED', 'missing bearer token');
    try {
      request.user = await verifyToken(token);
    } catch {
      throw errors.make('UNAUTHORIZED', 'invalid or expired token');
    }
  });

  app.addHook('onClose', async () => {
    proxyTrust.stop();
    cell.stop();
    redis.disconnect();
    await Promise.allSettled([pool.end(), healthPool.end(), adminPool.end()]);
  });

  try {
    await proxyTrust.start();
    await waitForPostgres(cell, 10_000);
    if (cell.inRecovery === false) {
      const applied = await app.applyMigrations(pool);
      if (applied.length > 0) app.log.info({ applied }, 'migrations applied');
      await cell.refresh();
    }
  } catch (err) {
    await app.close();
    throw err;
  }
  cell.start(opts.roleRefreshMs ?? 250);
  registerDeadlineScope(app, errors);

  // Every handler runs inside a span, so spans made by the service and the kit (db.transaction) nest.
  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    const spanName = `${route.method} ${route.url}`;
    route.handler = function traced(this: FastifyInstance, request, reply) {
      return tracer.startActiveSpan(String(spanName), async (span) => {
        try {
          return await handler.call(this, request, reply);
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR });
          throw err;
        } finally {
          span.end();
        }
      });
    };
  });

  app.addHook('onSend', async (request, reply) => {
    reply.headers(cell.responseHeaders(request.method));
  });

  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  const tables = [errors, adminErrors];
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isKnownError(err, tables)) {
      if ((err.statusCode ?? 500) >= 500) request.log.warn({ code: err.code, msg: err.message }, 'refused');
      return sendError(reply, err.statusCode ?? 500, err.code, err.message);
    }
    if (err.validation) {
      return sendError(reply, 400, errors.codeOf('VALIDATION'), err.message);
    }
    if ((err as { code?: string }).code === READ_ONLY_SQLSTATE) {
      // Demoted under us: re-read the role now so the next writes are refused before reaching Postgres.
      void cell.refresh();
      return sendError(reply, 503, errors.codeOf('FENCED'), 'the database is read-only (standby)');
    }
    if ((err as { code?: string }).code === UNDEFINED_TABLE_SQLSTATE && cell.role() !== 'primary') {
      // A standby started before its primary's migrations replicated: not ready yet, not a bug.
      return sendError(reply, 503, errors.codeOf('UNAVAILABLE'), 'schema not replicated to this standby yet');
    }
    if (isConnectionError(err) || isRedisUnavailable(err)) {
      request.log.warn({ err }, 'data store unavailable');
      return sendError(reply, 503, errors.codeOf('UNAVAILABLE'), 'a data store is unavailable, retry later');
    }
    const status = err.statusCode ?? 500;
    if (status === 413) return sendError(reply, 413, errors.codeOf('PAYLOAD_TOO_LARGE'), err.message);
    if (status === 415) return sendError(reply, 415, errors.codeOf('UNSUPPORTED_MEDIA_TYPE'), err.message);
    if (status === 404) return sendError(reply, 404, errors.codeOf('NOT_FOUND'), err.message);
    if (status >= 400 && status < 500) {
      // Bad JSON, empty body, proto poisoning, bad headers…: the client's mistake, never a 5xx.
      return sendError(reply, 400, errors.codeOf('VALIDATION'), err.message);
    }
    request.log.error({ err }, 'unhandled error');
    return sendError(reply, 500, errors.codeOf('INTERNAL'), 'internal error');
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      404,
      errors.codeOf('NOT_FOUND'),
      `no route ${request.method} ${request.url.slice(0, 200)}`,
    ),
  );

  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });
  await app.register(healthRoutes);
  await app.register(adminPlugin(opts.adminRoutes));
  await app.register(opts.routes);
  return app;
}
