// buildRouter(config, deps): the edge router + failover controller as a fastify instance that is not
// listening yet (server.ts listens; tests use inject() or listen on their own address).
import { drainRefusedBody, REGIONS, type ServiceName } from '@failover-lab/contracts';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { adminRoutes } from './admin/admin-routes';
import { type CellAdmin, HttpCellAdmin } from './cell-admin';
import type { RouterConfig } from './config';
import { type Clock, Controller } from './controller/controller';
import { errorBody, RouterError } from './errors';
import { NameCache } from './health/name-cache';
import { probePostgres } from './health/postgres-probe';
import { type ProbeFn, Prober, type ProbeTarget } from './health/prober';
import { RouterMetrics } from './metrics';
import { proxyRoutes } from './proxy/proxy';
import { RouteTable } from './route-table';
import { EventLog, eventsFileFor } from './state/events';
import { FileStateStore, type StateStore } from './state/state-store';

/** A restarted container's new address reaches the router within this. */
const NAME_REFRESH_MS = 1000;

/** The rest of a refused body is read up to this many times the limit (see drainRefusedBody). */
const DRAIN_MAX_FACTOR = 8;

export interface RouterDeps {
  admin?: CellAdmin;
  store?: StateStore;
  probe?: ProbeFn;
  clock?: Clock;
  /** fastify logger option; default: pino at LOG_LEVEL (info), tests pass false */
  logger?: boolean | { level: string };
}

export interface RouterParts {
  controller: Controller;
  prober: Prober;
  routes: RouteTable;
  events: EventLog;
  metrics: RouterMetrics;
}

declare module 'fastify' {
  interface FastifyInstance {
    router: RouterParts;
  }
}

export async function buildRouter(config: RouterConfig, deps: RouterDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? {
      level: process.env.LOG_LEVEL ?? 'info',
      redact: ['req.headers.authorization', 'req.headers.cookie'],
    },
    // Router-level limit; the proxy's own parser enforces maxBodyBytes per request.
    bodyLimit: config.proxy.maxBodyBytes,
    return503OnClosing: true,
    // A request Node's HTTP parser refuses (a CR or NUL in a header, both Content-Length and
    // Transfer-Encoding, a bad request line) never reaches a route: answer it with a code like the rest.
    // A URL that does not decode (`%ZZ`) is refused by the framework before any route: same shape.
    frameworkErrors: (_error, _request, reply) => {
      // (its reply is typed for no route in particular)
      (reply as unknown as FastifyReply).code(400).send(errorBody('ROUTER_ERR_VALIDATION', 'malformed URL'));
    },
    clientErrorHandler: (err, socket) => {
      if (!socket.writable) {
        socket.destroy(err);
        return;
      }
      const body = JSON.stringify(errorBody('ROUTER_ERR_VALIDATION', 'malformed HTTP request'));
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
  });

  const targets: ProbeTarget[] = [];
  for (const [service, svc] of Object.entries(config.services) as [
    ServiceName,
    RouterConfig['services'][ServiceName],
  ][]) {
    for (const region of REGIONS) {
      const postgres = svc!.postgres?.[region];
      targets.push({ service, region, url: svc!.cells[region], ...(postgres ? { postgres } : {}) });
    }
  }
  const metrics = new RouterMetrics(Object.keys(config.services));
  const routes = new RouteTable();
  const events = new EventLog(config.eventRingSize, eventsFileFor(config.stateFile));
  // Container mode reaches cells by name: resolve names off the request path (health/name-cache.ts).
  // Loopback mode uses address literals, which never go through a lookup.
  const names =
    config.network === 'container'
      ? new NameCache({
          refreshMs: NAME_REFRESH_MS,
          forgetMs: 10 * 60_000,
          slowMs: 500,
          onEvent: (e) =>
            app.log.warn(
              {
                component: 'names',
                hostname: e.hostname,
                ms: Math.round(e.ms),
                error: e.error,
                changed: e.changed,
              },
              e.error ? `resolving ${e.hostname}: ${e.error}` : `resolved ${e.hostname}`,
            ),
        })
      : null;
  const lookup = names?.lookup;
  const prober = new Prober(
    targets,
    config.probe,
    deps.probe,
    lookup ? (host, port, timeoutMs) => probePostgres(host, port, timeoutMs, lookup) : probePostgres,
    lookup,
  );
  const admin =
    deps.admin ??
    new HttpCellAdmin(
      config.adminToken,
      Math.max(...Object.values(config.services).map((s) => s!.policy.adminTimeoutMs)),
      lookup,
    );
  const controller = new Controller({
    services: config.services,
    health: prober,
    admin,
    routes,
    store: deps.store ?? new FileStateStore(config.stateFile),
    events,
    metrics,
    clock: deps.clock ?? { now: () => Date.now() },
    log: (line) => app.log.info({ component: 'controller' }, line),
    startupGraceMs: config.probe.startupGraceMs,
  });
  await controller.init();
  prober.grantLeases((service) => {
    const epoch = controller.epochOf(service);
    const policy = config.services[service]?.policy;
    return epoch === null
      ? null
      : {
          epoch,
          leaseMs: controller.leaseMsOf(service),
          ...(policy?.leaseGrantMs !== undefined ? { grantMs: policy.leaseGrantMs } : {}),
          // a promotion an earlier run may still have in flight, and the settling lease it and the grants
          // after it carried: none if this run created the state
          ...(controller.stateBornThisRun(service)
            ? { promoteTimeoutMs: 0 }
            : {
                promoteTimeoutMs: policy?.adminTimeoutMs ?? 0,
                ...(policy?.settleMs ? { settleLeaseMs: policy.settleLeaseMs } : {}),
              }),
        };
  });
  prober.onTransition((target, previous, next) => controller.onHealthTransition(target, previous, next));
  app.decorate('router', { controller, prober, routes, events, metrics });

  app.addHook('onReady', async () => {
    names?.start();
    prober.start();
    controller.start(config.probe.intervalMs);
  });
  app.addHook('onClose', async () => {
    await controller.stop();
    await prober.stop();
    names?.stop();
    routes.close();
    await events.flush();
    if (admin instanceof HttpCellAdmin) await admin.close().catch(() => {});
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (error instanceof RouterError)
      return reply.code(error.status).send(errorBody(error.code, error.message));
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
      await drainRefusedBody(request.raw, DRAIN_MAX_FACTOR * config.proxy.maxBodyBytes);
      return reply.code(413).send(errorBody('ROUTER_ERR_BODY_TOO_LARGE'));
    }
    if (error.validation || (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)) {
      return reply.code(400).send(errorBody('ROUTER_ERR_VALIDATION', error.message));
    }
    app.log.error({ err: error }, 'router error');
    return reply.code(500).send({ error: { code: 'ROUTER_ERR_INTERNAL', message: 'internal router error' } });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(errorBody('ROUTER_ERR_NOT_FOUND')));

  // Per-request logs at info would drown the controller's outcome lines; data plane and probes log at warn.
  const quiet = { logLevel: 'warn' as const };
  app.get('/health/live', quiet, async () => ({ status: 'live' }));
  app.get('/health/ready', quiet, async (_request, reply) => {
    const services = Object.fromEntries(
      controller.serviceNames().map((s) => {
        const route = routes.get(s);
        return [s, { primary: route?.primary, epoch: route?.epoch, serving: route?.serving ?? false }];
      }),
    );
    const ready = Object.values(services).every((s) => s.serving);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', services });
  });
  app.get('/metrics', quiet, async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  await app.register(async (scope) =>
    adminRoutes(scope, {
      token: config.adminToken,
      controller,
      events,
      // in a container every caller is remote (the host's 127.0.0.1 arrives via the bridge): the token decides
      anyRemoteAddress: config.network === 'container',
    }),
  );
  await app.register(async (scope) =>
    proxyRoutes(scope, { config, routes, prober, metrics, ...(lookup ? { lookup } : {}) }),
  );
  return app;
}
