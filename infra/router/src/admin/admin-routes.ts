// The operator's API: status, events, planned switchover, fence. Loopback callers with the admin
// token only (the edge's admin API must never be reachable from a cell's network); in container mode
// any caller with the token (compose publishes the router on the host's 127.0.0.1 only).

import { createHash, timingSafeEqual } from 'node:crypto';
import { REGIONS, type RegionName, type ServiceName } from '@failover-lab/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Controller } from '../controller/controller';
import { errorBody, RouterError } from '../errors';
import type { EventLog } from '../state/events';

export interface AdminDeps {
  token: string;
  controller: Controller;
  events: EventLog;
  /** container mode: accept any remote address (the token is still required) */
  anyRemoteAddress?: boolean;
}

function tokenMatches(expected: string, header: string | undefined): boolean {
  const match = /^Bearer (.+)$/.exec(header ?? '');
  if (!match) return false;
  // Hash both sides so the comparison takes the same time whatever the lengths.
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(match[1]!).digest();
  return timingSafeEqual(a, b);
}

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return /^127\./.test(v4) || address === '::1';
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export async function adminRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const services = deps.controller.serviceNames();
  const validation = (message: string) => new RouterError('ROUTER_ERR_VALIDATION', message);

  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    if (!deps.anyRemoteAddress && !isLoopbackAddress(request.socket.remoteAddress)) {
      return reply.code(403).send(errorBody('ROUTER_ERR_FORBIDDEN'));
    }
    if (!tokenMatches(deps.token, request.headers.authorization)) {
      return reply.code(401).send(errorBody('ROUTER_ERR_UNAUTHORIZED'));
    }
  });

  app.get('/admin/status', async () => ({
    at: new Date().toISOString(),
    services: deps.controller.status(),
  }));

  app.get('/admin/events', async (request) => {
    const query = request.query as Record<string, unknown>;
    const extra = Object.keys(query).filter((k) => k !== 'since');
    if (extra.length > 0) throw validation(`unknown query parameter ${extra[0]}`);
    let since: Date | undefined;
    if (query.since !== undefined) {
      if (typeof query.since !== 'string' || Number.isNaN(Date.parse(query.since))) {
        throw validation('since must be an ISO 8601 timestamp');
      }
      since = new Date(query.since);
    }
    return { events: deps.events.since(since) };
  });

  const readService = (body: Record<string, unknown>): ServiceName => {
    if (typeof body.service !== 'string' || !services.includes(body.service as ServiceName)) {
      throw validation(`service must be one of ${services.join(', ')}`);
    }
    return body.service as ServiceName;
  };
  const readRegion = (value: unknown, name: string): RegionName => {
    if (typeof value !== 'string' || !(REGIONS as readonly string[]).includes(value)) {
      throw validation(`${name} must be one of ${REGIONS.join(', ')}`);
    }
    return value as RegionName;
  };
  const readBody = (request: FastifyRequest, allowed: string[]): Record<string, unknown> => {
    let body: unknown = request.body;
    if (Buffer.isBuffer(body)) {
      try {
        body = JSON.parse(body.toString('utf8'));
      } catch {
        throw validation('body must be JSON');
      }
    }
    if (!isObject(body)) throw validation('body must be a JSON object');
    const extra = Object.keys(body).filter((k) => !allowed.includes(k));
    if (extra.length > 0) throw validation(`unknown field ${extra[0]}`);
    return body;
  };

  app.post('/admin/switchover', async (request) => {
    const body = readBody(request, ['service', 'to']);
    const service = readService(body);
    const to = body.to === undefined ? undefined : readRegion(body.to, 'to');
    return deps.controller.switchover(service, to);
  });

  app.post('/admin/fence', async (request) => {
    const body = readBody(request, ['service', 'region']);
    const service = readService(body);
    const region = readRegion(body.region, 'region');
    const result = await deps.controller.fence(service, region);
    return { service, fenced: true, ...result };
  });
}
