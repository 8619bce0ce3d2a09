// The data plane: /login/*, /payments/*, /messaging/* to the service's current primary.
// A request not yet sent waits (bounded) through a failover and goes to the new primary; one that may
// have reached a primary which then failed is resent only when its route is safe to repeat
// (RETRY_SAFE_ROUTES), the rest get their error.

import { EventEmitter } from 'node:events';
import {
  DEADLINE_HEADER,
  EPOCH_HEADER,
  FORWARDED_FOR_HEADER,
  LEASE_DEADLINE_HEADER,
  LEASE_HEADER,
  type RegionName,
  SERVED_BY_HEADER,
  type ServiceName,
} from '@failover-lab/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Pool } from 'undici';
import type { RouterConfig } from '../config';
import { errorBody, ROUTER_ERRORS } from '../errors';
import type { LookupFn } from '../health/name-cache';
import type { Prober } from '../health/prober';
import type { RequestOutcome, RouterMetrics } from '../metrics';
import type { Route, RouteTable } from '../route-table';
import { pickRegion } from './home-region';
import { ABORTED_CELL_DOWN, nextStep, type Situation, type Step } from './retry-policy';
import { endToEndHeaders, isRetrySafe, isWrite, wantsEventStream } from './retry-safety';

export interface ProxyDeps {
  config: RouterConfig;
  routes: RouteTable;
  prober: Pick<Prober, 'signal' | 'recheck'> & Partial<Pick<Prober, 'grantRequest'>>;
  metrics: RouterMetrics;
  /** how cell names become addresses (container mode: the NameCache); default: getaddrinfo per connection */
  lookup?: LookupFn;
}

const MAX_ATTEMPTS = 4;
/** Upstream error bodies are small JSON; bigger ones are streamed through rather than held for a retry. */
const MAX_BUFFERED_ERROR_BYTES = 64 * 1024;

/** set by the router itself (or by undici) on the way to the cell, never taken from the client */
const REQUEST_HEADERS_NOT_FORWARDED: readonly string[] = [
  'host',
  'content-length',
  EPOCH_HEADER,
  'expect',
  DEADLINE_HEADER, // only the router says when it gives up
  LEASE_HEADER, // and only the router grants a lease
  LEASE_DEADLINE_HEADER,
];

/** Connection never established: the request cannot have reached the cell, so any request may be resent. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * A request's abort switch (RouteTable.abortInFlight cuts reads to a cell confirmed down). undici takes
 * an EventEmitter as a request's signal; an AbortController costs several times more per request
 * (its AbortSignal and the EventTarget listeners undici adds and removes on it and on the body).
 */
class Cancel extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;
  abort(reason?: unknown) {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

type Attempt =
  | {
      kind: 'response';
      status: number;
      headers: Record<string, string | string[]>;
      body: NodeJS.ReadableStream & { destroy(): void };
      done: () => void;
    }
  | { kind: 'error'; code: string; notSent: boolean; timeout: boolean };

export async function proxyRoutes(app: FastifyInstance, deps: ProxyDeps): Promise<void> {
  const { config, routes, prober, metrics, lookup } = deps;
  const pools = new Map<string, Pool>();
  // Event streams hold their connection for as long as the client listens: in the requests' pool, a
  // few dozen of them would leave no connection for anyone else's request to that cell.
  const poolFor = (origin: string, stream: boolean) => {
    const key = `${stream ? 'stream' : 'request'} ${origin}`;
    let pool = pools.get(key);
    if (!pool) {
      pool = new Pool(origin, {
        // On loopback every connection would come from 127.0.0.1; from the router's own address instead,
        // the cells can trust its x-forwarded-for from exactly that address (TRUSTED_PROXIES).
        ...(config.network === 'loopback' ? { localAddress: config.listen.host } : {}),
        connections: stream ? config.proxy.streamConnectionsPerCell : config.proxy.connectionsPerCell,
        keepAliveTimeout: 30_000,
        connect: { timeout: config.proxy.connectTimeoutMs, ...(lookup ? { lookup } : {}) },
      });
      pools.set(key, pool);
    }
    return pool;
  };
  app.addHook('onClose', async () => {
    await Promise.all([...pools.values()].map((p) => p.destroy().catch(() => {})));
  });

  // Bodies pass through untouched; they are buffered (bounded) so a safe request can be resent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: config.proxy.maxBodyBytes },
    (_req, body, done) => done(null, body),
  );

  const forward = async (
    service: ServiceName,
    route: Route,
    region: RegionName,
    request: FastifyRequest,
    body: Buffer | undefined,
  ): Promise<Attempt> => {
    const origin = config.services[service]!.cells[region];
    const controller = new Cancel();
    const headers = endToEndHeaders(
      request.headers as Record<string, string | string[] | undefined>,
      REQUEST_HEADERS_NOT_FORWARDED,
    );
    headers[EPOCH_HEADER] = String(route.epoch);
    // Computed before dispatch, so it is never later than the headers timeout below actually fires.
    const deadlineMs = Date.now() + config.proxy.requestTimeoutMs;
    headers[DEADLINE_HEADER] = String(deadlineMs);
    // Writes are tracked with their deadline: the controller promotes another region only once every
    // write that may still sit in this cell is past it (RouteTable.writesMayLandUntil).
    const untrack = routes.track(
      service,
      region,
      controller,
      isWrite(request.method) ? deadlineMs : undefined,
    );
    headers[FORWARDED_FOR_HEADER] = request.ip;
    // The lease grant a probe carries, on every request to a cell the router does not suspect, so a
    // primary busy with requests renews from them (docs/fencing.md, "The lease"); and the request is
    // passive evidence of the cell's silence until its answer comes (Prober.grantRequest).
    const grant = prober.grantRequest?.(service, region, route.epoch);
    if (grant?.headers) Object.assign(headers, grant.headers);
    const sse = wantsEventStream(request.headers);
    try {
      const res = await poolFor(origin, sse).request({
        path: request.url,
        method: request.method as 'GET',
        headers,
        body: body && body.length > 0 ? body : undefined,
        headersTimeout: config.proxy.requestTimeoutMs,
        // An event stream stays open as long as the client wants it: no body timeout there.
        bodyTimeout: sse ? 0 : config.proxy.bodyTimeoutMs,
        signal: controller,
      });
      grant?.settled(true);
      // The cell answered: whatever the write did there is done.
      const done = () => untrack(false);
      res.body.once('close', done);
      res.body.once('error', done);
      return {
        kind: 'response',
        status: res.statusCode,
        headers: endToEndHeaders(res.headers as Record<string, string | string[] | undefined>),
        body: res.body,
        done,
      };
    } catch (err) {
      const e = err as Error & { code?: string };
      const code = controller.aborted ? ABORTED_CELL_DOWN : (e.code ?? e.name ?? 'UNKNOWN');
      grant?.settled(false);
      // Given up on without an answer: a frozen cell may still run the write until its deadline.
      // (A refused or dropped connection means the cell is not holding it.)
      untrack(code === 'UND_ERR_HEADERS_TIMEOUT' || code === ABORTED_CELL_DOWN);
      return {
        kind: 'error',
        code,
        notSent: NOT_SENT_CODES.has(code),
        timeout: code === 'UND_ERR_HEADERS_TIMEOUT',
      };
    }
  };

  /** requests waiting for a primary right now, and their body bytes */
  const held = { requests: 0, bytes: 0 };

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const started = performance.now();
    const path = request.url.split('?')[0]!;
    const service = path.split('/')[1] as ServiceName;
    const body = Buffer.isBuffer(request.body) ? request.body : undefined;
    const safe = isRetrySafe(request.method, service, path, request.headers, body);
    const write = isWrite(request.method);
    const sse = wantsEventStream(request.headers);
    const holdDeadline = Date.now() + config.proxy.holdMs;

    const finish = (region: RegionName | 'none', outcome: RequestOutcome) => {
      metrics.requests.inc({ service, region, outcome });
      metrics.requestDuration.observe({ service }, (performance.now() - started) / 1000);
    };
    const fail = (step: Extract<Step, { do: 'fail' }>, region: RegionName | 'none') => {
      finish(region, step.outcome);
      const status = ROUTER_ERRORS[step.code].status;
      if (status === 503) reply.header('retry-after', '1');
      const route = routes.get(service);
      if (route) reply.header(EPOCH_HEADER, String(route.epoch));
      return reply.code(status).send(errorBody(step.code, step.message));
    };
    const served = (route: Route, region: RegionName) =>
      reply.header(SERVED_BY_HEADER, region).header(EPOCH_HEADER, String(route.epoch));

    // A request that failed on route generation g is only resent on a later one (or to the same cell
    // once a re-probe shows it answering).
    let afterGeneration = -1;
    for (let attempt = 1; ; attempt++) {
      let route = routes.get(service);
      const routeSituation = (r: Route | undefined, waited: boolean): Situation => ({
        at: 'route',
        serving: r?.serving ?? false,
        newer: r !== undefined && r.generation > afterGeneration,
        write,
        refuseWrites: r?.refuseWrites ?? false,
        waited,
      });
      let step = nextStep(routeSituation(route, false));
      if (step.do === 'wait_for_primary') {
        const bytes = body?.length ?? 0;
        // Every request may be held during a failover, each with up to maxBodyBytes: bounded in count
        // and bytes, so a failover under load (or a flood aimed at one) cannot exhaust the router's memory.
        if (
          held.requests + 1 > config.proxy.maxHeldRequests ||
          held.bytes + bytes > config.proxy.maxHeldBytes
        ) {
          return fail({ do: 'fail', code: 'ROUTER_ERR_HOLD_FULL', outcome: 'hold_full' }, 'none');
        }
        held.requests++;
        held.bytes += bytes;
        metrics.heldRequests.set(held.requests);
        try {
          route =
            (await routes.waitForServing(service, holdDeadline - Date.now(), afterGeneration)) ?? undefined;
        } finally {
          held.requests--;
          held.bytes -= bytes;
          metrics.heldRequests.set(held.requests);
        }
        step = nextStep(routeSituation(route, true));
      }
      if (step.do === 'fail') return fail(step, 'none');
      const sent = route!;
      // active-active: the request's home region, or the other one while its home is lost
      const region = sent.active ? (pickRegion(sent.active, path) ?? sent.primary) : sent.primary;

      const result = await forward(service, sent, region, request, body);
      const lastTry = attempt >= MAX_ATTEMPTS || Date.now() >= holdDeadline;

      if (result.kind === 'error') {
        prober.signal(service, region);
        step = nextStep({
          at: 'error',
          safe,
          notSent: result.notSent,
          timeout: result.timeout,
          code: result.code,
          lastTry,
        });
        if (step.do === 'fail') return fail(step, region);
        if (step.do === 'recheck') {
          step = nextStep({
            at: 'recheck',
            verdict: await prober.recheck(service, region),
            after: 'error',
          });
        }
        if (step.do === 'resend' && step.newerRoute) afterGeneration = sent.generation;
        continue;
      }

      const contentLength = Number(result.headers['content-length'] ?? Number.NaN);
      const bufferable = Number.isFinite(contentLength) && contentLength <= MAX_BUFFERED_ERROR_BYTES && !sse;
      step = nextStep({ at: 'response', status: result.status, safe, lastTry, bufferable });
      if (step.do === 'recheck') {
        const buffered = await readAll(result.body).catch(() => null);
        result.done();
        const verdict = await prober.recheck(service, region);
        step = nextStep({ at: 'recheck', verdict, after: 'response', bodyLost: buffered === null });
        if (step.do === 'resend') {
          afterGeneration = sent.generation;
          continue;
        }
        finish(region, 'upstream_5xx');
        reply.code(result.status).headers(result.headers);
        return served(sent, region).send(buffered);
      }

      if (request.method === 'HEAD') {
        finish(region, result.status >= 500 ? 'upstream_5xx' : 'ok');
        reply.code(result.status).headers(result.headers);
        served(sent, region);
        result.body.destroy();
        return reply.send();
      }
      // (a 304's Content-Length describes a body it does not carry: it passes through untouched)
      if (bufferable && result.status !== 304 && result.status !== 204) {
        // A small body with a known length is read whole and sent in one write with the headers:
        // piping it as a stream costs the router more CPU per request (pipe, end-of-stream and
        // unpipe bookkeeping, a write per chunk) than the rest of the proxying. Bigger bodies and
        // event streams still flow through as they come.
        const whole = await readAll(result.body).catch(() => null);
        result.done();
        if (whole === null) {
          // the cell's answer broke off mid-body: the client's answer breaks off too, as when streamed
          finish(region, 'connection_error');
          reply.hijack();
          reply.raw.destroy();
          return reply;
        }
        finish(region, result.status >= 500 ? 'upstream_5xx' : 'ok');
        reply.code(result.status).headers(result.headers);
        return served(sent, region).send(whole);
      }
      finish(region, result.status >= 500 ? 'upstream_5xx' : 'ok');
      reply.code(result.status).headers(result.headers);
      served(sent, region);
      return reply.send(result.body);
    }
  };

  for (const service of Object.keys(config.services) as ServiceName[]) {
    app.all(`/${service}`, { logLevel: 'warn' }, handler);
    app.all(`/${service}/*`, { logLevel: 'warn' }, handler);
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  // undici's body collects its chunks itself, without the async iterator's promise per chunk
  const body = stream as NodeJS.ReadableStream & { arrayBuffer?: () => Promise<ArrayBuffer> };
  if (typeof body.arrayBuffer === 'function') return Buffer.from(await body.arrayBuffer());
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}
