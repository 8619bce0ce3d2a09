// Request deadlines (docs/contracts.md, "Fencing"): the router stamps every proxied request with
// `x-request-deadline: <unix epoch ms>`, the moment it will have given up on this attempt and may
// resend it to another region. A write still in this cell after that moment must not commit: it
// sat in a frozen process's socket buffer while the other region was promoted (split brain).
// Assumes the router's and the cell's clocks agree within the request budget (one machine here;
// NTP in a real deployment).
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { DEADLINE_HEADER } from '@failover-lab/contracts';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import type { ErrorTable } from './errors';

interface RequestScope {
  /** unix epoch ms, or undefined when the request carried no deadline (direct calls) */
  deadlineMs: number | undefined;
  /** the error for a transaction that reached COMMIT past the deadline */
  exceeded: () => FastifyError;
  /**
   * The cell's lease as it stands now (bindLease: set when the cell accepts the write), null when it
   * holds none. A COMMIT past it is refused like one past the deadline.
   */
  leaseUntil?: () => number | null;
}

/**
 * Per-request scope for code that has no request in hand (withTransaction). Set in onRequest with
 * `run(store, done)` and re-entered in preValidation, because body parsing runs in the socket's
 * stream callbacks and loses the async context (the @fastify/request-context pattern).
 */
const requestScope = new AsyncLocalStorage<RequestScope>();
const scopeResource = Symbol('failover-lab.requestScope');

/** The header's value as epoch ms; undefined when absent; null when malformed. */
export function parseDeadline(header: string | string[] | undefined): number | undefined | null {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\d{1,15}$/.test(value)) return null;
  return Number(value);
}

export function deadlinePassed(deadlineMs: number | undefined, now = Date.now()): boolean {
  return deadlineMs !== undefined && now > deadlineMs;
}

/** Throws DEADLINE_EXCEEDED (503) when the request's deadline has passed. */
export function assertBeforeDeadline(request: FastifyRequest, errors: ErrorTable): void {
  const deadlineMs = parseDeadline(request.headers[DEADLINE_HEADER]);
  if (deadlineMs !== null && deadlinePassed(deadlineMs)) {
    throw exceededError(errors, deadlineMs as number, 'refused before writing');
  }
}

function exceededError(errors: ErrorTable, deadlineMs: number, what: string): FastifyError {
  return errors.make(
    'DEADLINE_EXCEEDED',
    `request deadline passed ${Date.now() - deadlineMs} ms ago (the router gave up on it): ${what}, nothing was written`,
  );
}

/** Called by withTransaction right before COMMIT; throws when the current request's bound passed. */
export function assertTransactionBeforeDeadline(): void {
  const scope = requestScope.getStore();
  if (scope && deadlinePassed(commitBoundMs())) throw scope.exceeded();
}

/**
 * The cell accepted this request as a write: from now on its COMMIT is bound by the cell's lease too
 * (read again right before COMMIT, so a lease renewed meanwhile counts).
 */
export function bindLease(leaseUntil: () => number | null): void {
  const scope = requestScope.getStore();
  if (scope) scope.leaseUntil = leaseUntil;
}

/**
 * The moment after which this request's COMMIT must be refused: its deadline, or the cell's lease if
 * that runs out first (docs/fencing.md, "The lease"). The router counts every lease it may have
 * granted, so once it has waited that out no write of an unreachable old primary can still commit
 * there, whatever its deadline: a failover from a frozen primary need not wait for the write deadlines
 * (proxy.requestTimeoutMs) as well. Undefined for a request without a deadline (direct calls, jobs),
 * which the lease's self-fence covers instead.
 */
export function commitBoundMs(): number | undefined {
  const scope = requestScope.getStore();
  if (!scope || scope.deadlineMs === undefined) return undefined;
  const lease = scope.leaseUntil?.() ?? null;
  return lease === null ? scope.deadlineMs : Math.min(scope.deadlineMs, lease);
}

/** The current request's deadline (unix ms), for the commit-time check inside Postgres. */
export function currentDeadlineMs(): number | undefined {
  return requestScope.getStore()?.deadlineMs;
}

/**
 * The error for a COMMIT that Postgres refused because the deadline passed on the way (the commit
 * guard, migrations/001_commit_guard.sql); the original error when there is no request scope.
 */
export function deadlineExceededAtCommit(err: unknown): unknown {
  return requestScope.getStore()?.exceeded() ?? err;
}

/** onRequest + preValidation hooks that carry the request's deadline into its async context. */
export function registerDeadlineScope(app: FastifyInstance, errors: ErrorTable): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const deadlineMs = parseDeadline(request.headers[DEADLINE_HEADER]);
    if (deadlineMs === null) {
      done(errors.make('VALIDATION', `${DEADLINE_HEADER} must be a unix time in milliseconds`));
      return;
    }
    const scope: RequestScope = {
      deadlineMs,
      exceeded: () => exceededError(errors, deadlineMs!, 'transaction rolled back before COMMIT'),
    };
    requestScope.run(scope, () => {
      const resource = new AsyncResource('failover-lab.requestScope');
      (request as unknown as Record<symbol, AsyncResource>)[scopeResource] = resource;
      resource.bind(done)();
    });
  });
  app.addHook('preValidation', (request, _reply, done) => {
    const resource = (request as unknown as Record<symbol, AsyncResource | undefined>)[scopeResource];
    if (resource) resource.runInAsyncScope(done, request.raw);
    else done();
  });
}
