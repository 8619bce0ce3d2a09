// The supervisor's control API on the edge address (docs/contracts.md "Lab supervisor"). Faults (the
// contract's, by name) and their resets run one at a time; status may run alongside them. Loopback
// is shared by every local user, so every route but the liveness check needs the lab's control token.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { errorBody, FAULTS, type Fault, faultProblems } from '@failover-lab/contracts';
import type { Supervisor } from './supervisor';

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

  const faults: Record<string, (fault: Fault) => Promise<unknown>> = {
    '/faults': (fault) => supervisor.apply(fault),
    '/faults/reset': (fault) => supervisor.reset(fault),
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
      if (req.method === 'POST' && path === '/reset') return send(res, 200, await supervisor.healLinks());
      const run = faults[path];
      if (req.method === 'POST' && run) {
        const fault = await readJson(req);
        const problems = faultProblems(fault);
        if (problems.length > 0) throw new RequestError('LAB_ERR_VALIDATION', problems.join('; '));
        // A link fault is one call to the links process: it need not wait behind a restore (a
        // flapping link toggles every few hundred ms), and it cannot disturb one.
        const isLink = FAULTS[(fault as Fault).kind].scope === 'link';
        const result = await (isLink ? run(fault as Fault) : serialized(() => run(fault as Fault))).catch(
          (err: Error) => {
            throw new RequestError('LAB_ERR_OPERATION_FAILED', err.message);
          },
        );
        return send(res, 200, result);
      }
      throw new RequestError('LAB_ERR_NOT_FOUND', `no route ${req.method} ${path}`);
    } catch (err) {
      const code: LabErrorCode = err instanceof RequestError ? err.code : 'LAB_ERR_OPERATION_FAILED';
      send(res, LAB_ERRORS[code], errorBody(code, (err as Error).message));
    }
  });
}
