// The supervisor's control API on the edge address (docs/contracts.md "Lab supervisor"). Faults
// and restores run one at a time; status may run alongside them. Loopback is shared by every local
// user, so every route but the liveness check needs the lab's control token.

import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  COMPONENTS,
  type ComponentName,
  REGIONS,
  type RegionName,
  SERVICES,
  type ServiceName,
} from '@failover-lab/contracts';
import type { FaultTarget, Supervisor } from './supervisor';

export const LAB_ERRORS = {
  LAB_ERR_VALIDATION: 400,
  /** no, malformed or wrong `authorization: Bearer <controlToken>` */
  LAB_ERR_UNAUTHORIZED: 401,
  LAB_ERR_NOT_FOUND: 404,
  LAB_ERR_STARTING: 409,
  LAB_ERR_OPERATION_FAILED: 500,
} as const;
export type LabErrorCode = keyof typeof LAB_ERRORS;

class RequestError extends Error {
  constructor(
    readonly code: LabErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface FaultRequest {
  region: RegionName;
  target: FaultTarget;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new RequestError('LAB_ERR_VALIDATION', `${field} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

function parseFault(body: unknown, allowTarget: boolean): FaultRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RequestError('LAB_ERR_VALIDATION', 'body must be a JSON object');
  }
  const { region, service, component, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new RequestError('LAB_ERR_VALIDATION', `unknown field(s): ${unknown.join(', ')}`);
  if (!allowTarget && (service !== undefined || component !== undefined)) {
    throw new RequestError('LAB_ERR_VALIDATION', 'service/component apply to kill only');
  }
  const target: FaultTarget = {};
  if (service !== undefined) target.service = oneOf<ServiceName>(service, SERVICES, 'service');
  if (component !== undefined) target.component = oneOf<ComponentName>(component, COMPONENTS, 'component');
  return { region: oneOf<RegionName>(region, REGIONS, 'region'), target };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let raw = '';
  for await (const chunk of req) {
    raw += chunk;
    if (raw.length > 10_000) throw new RequestError('LAB_ERR_VALIDATION', 'body too large');
  }
  if (raw === '') return {};
  try {
    return JSON.parse(raw);
  } catch {
    throw new RequestError('LAB_ERR_VALIDATION', 'body is not valid JSON');
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Throws 401 unless the request carries the control token. Both sides are hashed first so
 * timingSafeEqual gets equal-length buffers and the token's length leaks nothing. Messages never
 * repeat what was sent.
 */
function requireControlToken(req: IncomingMessage, expectedDigest: Buffer) {
  const header = req.headers.authorization;
  const presented = typeof header === 'string' ? /^Bearer ([^\s]+)$/i.exec(header.trim())?.[1] : undefined;
  if (presented === undefined) {
    throw new RequestError(
      'LAB_ERR_UNAUTHORIZED',
      "missing bearer token: send authorization: Bearer <controlToken from the state dir's secrets.json>",
    );
  }
  if (!timingSafeEqual(digest(presented), expectedDigest)) {
    throw new RequestError('LAB_ERR_UNAUTHORIZED', "wrong control token (not this lab's secrets.json)");
  }
}

function send(res: ServerResponse, status: number, body: unknown) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (status === 401) headers['www-authenticate'] = 'Bearer realm="failover-lab"';
  res.writeHead(status, headers);
  res.end(JSON.stringify(body));
}

export interface ControlServerOptions {
  supervisor: Supervisor;
  isReady: () => boolean;
  /** stops everything, answers, then lets the daemon exit */
  down: () => Promise<void>;
  /** every route but GET /health needs `authorization: Bearer <controlToken>` */
  controlToken: string;
}

export function createControlServer({
  supervisor,
  isReady,
  down,
  controlToken,
}: ControlServerOptions): Server {
  // fail closed: an empty token would let an empty bearer through
  if (!controlToken) throw new Error('the control server needs a control token');
  const expectedDigest = digest(controlToken);
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => {});
    return run;
  };

  const faults: Record<string, { allowTarget: boolean; run: (f: FaultRequest) => Promise<unknown> }> = {
    '/kill': { allowTarget: true, run: (f) => supervisor.kill(f.region, f.target) },
    '/freeze': { allowTarget: false, run: (f) => supervisor.freeze(f.region) },
    '/thaw': { allowTarget: false, run: (f) => supervisor.thaw(f.region) },
    '/restore': { allowTarget: false, run: (f) => supervisor.restore(f.region) },
  };

  return createServer(async (req, res) => {
    try {
      const path = new URL(req.url ?? '/', 'http://lab').pathname;
      if (req.method === 'GET' && path === '/health') {
        return send(res, 200, { state: isReady() ? 'ready' : 'starting', pid: process.pid });
      }
      // before anything else: without the token, not even "starting" or "no such route"
      requireControlToken(req, expectedDigest);
      if (!isReady()) throw new RequestError('LAB_ERR_STARTING', 'the lab is still starting');
      if (req.method === 'GET' && path === '/status') return send(res, 200, await supervisor.status());
      if (req.method === 'POST' && path === '/down') {
        await serialized(down);
        return send(res, 200, { stopped: true });
      }
      const fault = faults[path];
      if (req.method === 'POST' && fault) {
        const request = parseFault(await readJson(req), fault.allowTarget);
        const result = await serialized(() => fault.run(request)).catch((err: Error) => {
          throw new RequestError('LAB_ERR_OPERATION_FAILED', err.message);
        });
        return send(res, 200, result);
      }
      throw new RequestError('LAB_ERR_NOT_FOUND', `no route ${req.method} ${path}`);
    } catch (err) {
      const code: LabErrorCode = err instanceof RequestError ? err.code : 'LAB_ERR_OPERATION_FAILED';
      send(res, LAB_ERRORS[code], { error: { code, message: (err as Error).message } });
    }
  });
}
