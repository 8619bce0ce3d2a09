// buildCell: one fastify app with everything a cell shares around the service's own routes. Not
// listening: tests use app.inject() or listen themselves; server.ts calls runServer.
//
// Order matters: tracing first (it wraps the handlers of the routes added after it), the data stores,
// then the cell's view of itself (it waits for its Postgres and migrates a primary), then what every
// request goes through, then the routes.
import { randomUUID } from 'node:crypto';
import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply } from 'fastify';
import type { CellConfig } from './config';
import type { ErrorTable } from './errors';
import { loggerOptions } from './logger';
import { authPlugin } from './plugins/app/auth';
import { cellRolePlugin } from './plugins/app/cell-role';
import { deadlinePlugin } from './plugins/app/deadline';
import { errorHandlerPlugin, sendError } from './plugins/app/error-handler';
import { trustedProxiesPlugin } from './plugins/app/trusted-proxies';
import { metricsPlugin } from './plugins/external/metrics';
import { postgresPlugin } from './plugins/external/postgres';
import { redisPlugin } from './plugins/external/redis';
import { tracingPlugin } from './plugins/external/tracing';
import { adminRoutes } from './routes/admin';
import { healthRoutes } from './routes/health';
import { createProxyTrust, type Lookup } from './trusted-proxies';

declare module 'fastify' {
  interface FastifyInstance {
    config: CellConfig;
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

export async function buildCell(opts: BuildCellOptions): Promise<FastifyInstance> {
  const { config, errors } = opts;
  const trustedProxies = config.trustedProxies ?? [];
  const proxyTrust = createProxyTrust(trustedProxies, {
    ...(opts.trustedProxyLookup ? { lookup: opts.trustedProxyLookup } : {}),
    // app.log exists by the time a name is first resolved (trustedProxiesPlugin below)
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
    // Each plugin bounds its own waits (Postgres at start: 10 s, then statement timeouts); fastify's
    // 10 s default would cut the Postgres wait short and report a timeout instead of what is wrong.
    pluginTimeout: 0,
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
  app.decorate('config', config);

  try {
    await app.register(tracingPlugin, { service: config.service, otlpEndpoint: config.otlpEndpoint });
    await app.register(trustedProxiesPlugin, { proxyTrust });
    await app.register(postgresPlugin, { databaseUrl: config.databaseUrl, poolMax: opts.poolMax });
    await app.register(redisPlugin, { redisUrl: config.redisUrl });
    await app.register(cellRolePlugin, {
      service: config.service,
      region: config.region,
      errors,
      migrationsDir: opts.migrationsDir,
      roleRefreshMs: opts.roleRefreshMs,
    });
    await app.register(metricsPlugin);
    await app.register(authPlugin, { jwks: config.jwks });
    await app.register(deadlinePlugin);
    await app.register(errorHandlerPlugin);
    await app.register(healthRoutes);
    await app.register(adminRoutes(opts.adminRoutes));
    await app.register(opts.routes);
  } catch (err) {
    // whatever did start (pools, Redis, DNS re-resolution) must not outlive a failed start
    await app.close().catch(() => {});
    throw err;
  }
  return app;
}
