// The console's edge server: serves the built page and a small authenticated API that talks to the
// router's admin API and the lab's control API over HTTP, and streams changes to the page (SSE).

import { existsSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import {
  COMPONENTS,
  type ComponentName,
  drainRefusedBody,
  REGIONS,
  type RegionName,
  SERVICES,
  type ServiceName,
} from '@failover-lab/contracts';
import { SCENARIO_NAMES, SCENARIOS } from '@failover-lab/drill';
import { LabError } from '@failover-lab/lab';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { bearerMatches } from './auth';
import { type ConsoleConfig, REPO_ROOT } from './config';
import {
  DRILL_LIMITS,
  type DrillRun,
  DrillRunner,
  listDrills,
  readReportHtml,
  validateDrillRequest,
} from './drills';
import { ConsoleError, type ConsoleErrorCode, errorBody } from './errors';
import { DEFAULT_INTERVALS, Live, type LiveIntervals, type LiveMessage } from './live';
import { RouterClient } from './router-client';
import { Traffic, type TrafficState } from './traffic';

export const WEB_BUILD_DIR = join(REPO_ROOT, 'infra', 'console', 'web-build');

type Message =
  | LiveMessage
  | { kind: 'traffic'; traffic: TrafficState }
  | { kind: 'drill'; drill: DrillRun }
  | { kind: 'history'; history: ReturnType<typeof listDrills> };

// The page loads nothing from anywhere else and runs no inline script. Inline styles are allowed
// because a drill's report.html (shown in a sandboxed frame) carries its own <style>.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const REPORT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:";

interface WebFile {
  body: Buffer;
  type: string;
}

/**
 * The page is three files fixed at build time (index.html, assets/console.js, assets/console.css):
 * they are read once and served from memory, so no request path ever reaches the file system.
 */
function loadWebBuild(dir: string): Map<string, WebFile> {
  const files = new Map<string, WebFile>();
  const types: Record<string, string> = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
  };
  for (const path of ['index.html', 'assets/console.js', 'assets/console.css']) {
    const file = join(dir, path);
    if (existsSync(file))
      files.set(`/${path}`, { body: readFileSync(file), type: types[path.slice(path.lastIndexOf('.'))]! });
  }
  return files;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function objectBody(body: unknown, allowed: string[]): Record<string, unknown> {
  if (!isObject(body)) throw new ConsoleError('CONSOLE_ERR_VALIDATION', 'body must be a JSON object');
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw new ConsoleError('CONSOLE_ERR_VALIDATION', `unknown field ${extra[0]}`);
  return body;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new ConsoleError('CONSOLE_ERR_VALIDATION', `${name} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

const FAULT_ACTIONS = ['kill', 'freeze', 'thaw', 'restore'] as const;

export interface ConsoleServer {
  app: FastifyInstance;
  close(): Promise<void>;
}

/** The console takes only small JSON commands. */
const BODY_LIMIT = 16 * 1024;

export async function buildConsole(
  config: ConsoleConfig,
  options: { intervals?: LiveIntervals; webBuildDir?: string; logLevel?: string } = {},
): Promise<ConsoleServer> {
  const app = Fastify({
    logger: { level: options.logLevel ?? process.env.LOG_LEVEL ?? 'info' },
    // Requests are not logged one by one: what matters (each fault, switchover, drill) is logged below,
    // and no header (the token) ever is.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
  });
  const web = loadWebBuild(options.webBuildDir ?? WEB_BUILD_DIR);
  const streams = new Set<ServerResponse>();
  const send = (message: Message) => {
    const frame = `data: ${JSON.stringify(message)}\n\n`;
    for (const res of streams) res.write(frame);
  };

  const router = new RouterClient(config.routerUrl, config.adminToken);
  const live = new Live(router, config.lab, send, options.intervals ?? DEFAULT_INTERVALS);
  const traffic = config.lab
    ? new Traffic({
        lab: config.lab,
        routerUrl: config.routerUrl,
        secrets: () => {
          const adminToken = config.adminToken();
          const appPassword = config.appPassword();
          if (!adminToken || !appPassword)
            throw new ConsoleError('CONSOLE_ERR_UNAVAILABLE', 'the lab secrets are unreadable');
          return { adminToken, appPassword };
        },
        drillOutDir: config.drillOutDir,
        onChange: (state) => send({ kind: 'traffic', traffic: state }),
      })
    : null;
  const drills = new DrillRunner({
    repoRoot: REPO_ROOT,
    drillOutDir: config.drillOutDir,
    labEnv: config.labEnv,
    onChange: (run) => send({ kind: 'drill', drill: run }),
    onFinished: () => send({ kind: 'history', history: listDrills(config.drillOutDir) }),
  });
  const capabilities = {
    faults: config.mode === 'lab',
    drills: config.mode === 'lab',
    traffic: config.mode === 'lab',
    switchover: true,
  };
  const unavailable = (what: string) =>
    new ConsoleError(
      'CONSOLE_ERR_UNAVAILABLE',
      `${what} needs the lab supervisor; under compose run it from the host (npm run drill -- --backend compose)`,
    );

  app.addHook('onSend', async (request, reply) => {
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (!request.url.startsWith('/assets/')) reply.header('cache-control', 'no-store');
  });

  app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (err instanceof ConsoleError) return reply.code(err.status).send(errorBody(err.code, err.message));
    const status = err.statusCode ?? 500;
    // Read the rest of a refused body first, or the close resets the connection and the 413 is lost.
    // Up to 8 MiB, like a cell: only a client with the token gets this far (onRequest checks it).
    if (status === 413) await drainRefusedBody(request.raw, 8 * 1024 * 1024);
    if (status >= 400 && status < 500) {
      // fastify's own refusals (bad JSON, wrong content type, too large) in the console's shape
      return reply.code(status).send(errorBody('CONSOLE_ERR_VALIDATION', err.message));
    }
    app.log.error({ err: err.message }, 'console request failed');
    return reply.code(500).send({ error: { code: 'CONSOLE_ERR_INTERNAL', message: 'internal error' } });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(errorBody('CONSOLE_ERR_NOT_FOUND')));

  // ---------------------------------------------------------------- page and health (no token)

  app.get('/health/live', async () => ({ ok: true }));
  const page = (path: string) => async (_request: FastifyRequest, reply: FastifyReply) => {
    const file = web.get(path);
    if (!file) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The console page is not built: run `npm run console:build`.\n');
    }
    if (path.startsWith('/assets/')) reply.header('cache-control', 'no-cache');
    return reply.type(file.type).send(file.body);
  };
  app.get('/', page('/index.html'));
  app.get('/assets/console.js', page('/assets/console.js'));
  app.get('/assets/console.css', page('/assets/console.css'));

  // ---------------------------------------------------------------- the API (lab token)

  await app.register(async (api) => {
    api.addHook('onRequest', async (request, reply) => {
      if (!bearerMatches(config.consoleToken(), request.headers.authorization)) {
        reply.header('www-authenticate', 'Bearer');
        return reply.code(401).send(errorBody('CONSOLE_ERR_UNAUTHORIZED'));
      }
    });

    api.get('/api/session', async () => ({
      mode: config.mode,
      capabilities,
      scenarios: SCENARIO_NAMES.map((name) => ({ name, summary: SCENARIOS[name].summary })),
      drillLimits: DRILL_LIMITS,
      edge: { routerUrl: config.routerUrl, prometheusUrl: config.prometheusUrl },
    }));

    api.get('/api/stream', async (_request, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-content-type-options': 'nosniff',
      });
      const snapshot = {
        kind: 'snapshot',
        mode: config.mode,
        capabilities,
        router: live.router,
        lab: live.lab,
        faults: live.faults(),
        events: live.events.slice(-200),
        points: live.points,
        traffic: traffic?.state() ?? null,
        drill: drills.current(),
        history: listDrills(config.drillOutDir),
      };
      res.write(`retry: 1000\ndata: ${JSON.stringify(snapshot)}\n\n`);
      streams.add(res);
      const unwatch = live.watch();
      // proxies and browsers drop a stream that stays silent too long
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      // the response's close, not the request's: a GET's request stream ends as soon as it is read
      res.on('close', () => {
        clearInterval(heartbeat);
        streams.delete(res);
        unwatch();
      });
    });

    api.post('/api/faults', async (request) => {
      const body = objectBody(request.body, ['action', 'region', 'service', 'component']);
      const action = oneOf(body.action, FAULT_ACTIONS, 'action');
      const region: RegionName = oneOf(body.region, REGIONS, 'region');
      const service =
        body.service === undefined ? undefined : oneOf<ServiceName>(body.service, SERVICES, 'service');
      const component =
        body.component === undefined
          ? undefined
          : oneOf<ComponentName>(body.component, COMPONENTS, 'component');
      if (action !== 'kill' && (service || component)) {
        throw new ConsoleError(
          'CONSOLE_ERR_VALIDATION',
          `${action} takes a whole region (no service or component)`,
        );
      }
      if (component && !service) {
        throw new ConsoleError('CONSOLE_ERR_VALIDATION', 'component needs a service');
      }
      if (!config.lab) throw unavailable(`${action}`);
      if (drills.isRunning())
        throw new ConsoleError('CONSOLE_ERR_BUSY', 'a drill is running: its fault comes first');
      const target = [region, service, component].filter(Boolean).join(' ');
      app.log.info(`fault from the console: ${action} ${target}`);
      const lab = config.lab;
      try {
        const result =
          action === 'kill'
            ? await lab.kill(region, { ...(service ? { service } : {}), ...(component ? { component } : {}) })
            : action === 'freeze'
              ? await lab.freeze(region)
              : action === 'thaw'
                ? await lab.thaw(region)
                : await lab.restore(region);
        await live.refreshNow();
        return { action, target, result };
      } catch (err) {
        if (err instanceof LabError) {
          const code: ConsoleErrorCode = err.status === 409 ? 'CONSOLE_ERR_BUSY' : 'CONSOLE_ERR_UPSTREAM';
          throw new ConsoleError(code, `lab: ${err.code} ${err.message}`);
        }
        throw new ConsoleError('CONSOLE_ERR_UPSTREAM', `lab: ${(err as Error).message}`);
      }
    });

    api.post('/api/switchover', async (request) => {
      const body = objectBody(request.body, ['service', 'to']);
      const service = oneOf<ServiceName>(body.service, SERVICES, 'service');
      const to = body.to === undefined ? undefined : oneOf<RegionName>(body.to, REGIONS, 'to');
      if (drills.isRunning()) throw new ConsoleError('CONSOLE_ERR_BUSY', 'a drill is running');
      app.log.info(`switchover from the console: ${service}${to ? ` to ${to}` : ''}`);
      const result = await router.switchover(service, to);
      await live.refreshNow();
      return result;
    });

    api.post('/api/traffic', async (request) => {
      const body = objectBody(request.body, ['action', 'ratePerSec']);
      const action = oneOf(body.action, ['start', 'stop'] as const, 'action');
      if (action === 'stop' && body.ratePerSec !== undefined) {
        throw new ConsoleError('CONSOLE_ERR_VALIDATION', 'stop takes no ratePerSec');
      }
      const rate = body.ratePerSec ?? 20;
      if (
        action === 'start' &&
        (typeof rate !== 'number' || !Number.isInteger(rate) || rate < 1 || rate > 100)
      ) {
        throw new ConsoleError('CONSOLE_ERR_VALIDATION', 'ratePerSec must be an integer from 1 to 100');
      }
      if (!traffic) throw unavailable('traffic');
      if (action === 'stop') return { traffic: await traffic.stop() };
      traffic.start(rate as number);
      return { traffic: traffic.state() };
    });

    api.get('/api/drills', async () => ({
      drills: listDrills(config.drillOutDir),
      current: drills.current(),
    }));

    api.post('/api/drills', async (request, reply) => {
      const drillRequest = validateDrillRequest(request.body);
      if (!config.lab) throw unavailable('running a drill');
      app.log.info(`drill from the console: ${drillRequest.scenario}`);
      return reply.code(202).send({ run: drills.start(drillRequest) });
    });

    api.get('/api/drills/report', async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      const extra = Object.keys(query).filter((k) => k !== 'id');
      if (extra.length)
        throw new ConsoleError('CONSOLE_ERR_VALIDATION', `unknown query parameter ${extra[0]}`);
      const html = await readReportHtml(config.drillOutDir, query.id);
      return reply.header('content-security-policy', REPORT_CSP).type('text/html; charset=utf-8').send(html);
    });
  });

  live.start();
  let closed = false;
  return {
    app,
    async close() {
      if (closed) return;
      closed = true;
      live.stop();
      for (const res of streams) res.end();
      streams.clear();
      await Promise.all([traffic?.close(), drills.close()]);
      await app.close();
    },
  };
}
