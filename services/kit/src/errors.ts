// One error table per service: every code a service can answer with is declared here,
// so a test can check that each one is documented. Codes are <PREFIX>_ERR_<NAME>.
import { ErrorBodySchema } from '@failover-lab/contracts';
import createError, { type FastifyError } from '@fastify/error';

export interface ErrorSpec {
  status: number;
  message: string;
}

/** Codes every service shares: the kit's own handlers answer with these. */
export const SHARED_ERRORS = {
  VALIDATION: { status: 400, message: 'request is invalid' },
  UNAUTHORIZED: { status: 401, message: 'a valid access token is required' },
  NOT_FOUND: { status: 404, message: 'not found' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'unsupported content type' },
  FENCED: { status: 503, message: 'this cell does not accept writes (fenced, standby or stale epoch)' },
  DEADLINE_EXCEEDED: {
    status: 503,
    message:
      'the write arrived after its x-request-deadline (the router had given up on it); nothing was written',
  },
  UNAVAILABLE: { status: 503, message: 'a data store of this cell is unavailable' },
  INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, ErrorSpec>;

export type SharedErrorName = keyof typeof SHARED_ERRORS;

export interface ErrorInfo {
  name: string;
  code: string;
  status: number;
  message: string;
}

export interface ErrorTable<Name extends string = string> {
  prefix: string;
  /** every code in the table, shared ones included, for docs and tests */
  list: ErrorInfo[];
  codeOf(name: Name): string;
  /** an error the kit's error handler turns into `{error:{code,message}}` with the table's status */
  make(name: Name, message?: string): FastifyError;
  has(code: string): boolean;
}

export function defineErrors<const T extends Record<string, ErrorSpec>>(
  prefix: string,
  table: T,
): ErrorTable<(keyof T & string) | SharedErrorName> {
  const merged: Record<string, ErrorSpec> = { ...SHARED_ERRORS, ...table };
  const constructors = new Map<string, ReturnType<typeof createError>>();
  const list: ErrorInfo[] = [];
  for (const [name, spec] of Object.entries(merged)) {
    const code = `${prefix}_ERR_${name}`;
    // '%s' lets a call site give a specific message while the table keeps the generic one.
    constructors.set(name, createError(code, '%s', spec.status));
    list.push({ name, code, status: spec.status, message: spec.message });
  }
  const codes = new Set(list.map((e) => e.code));
  return {
    prefix,
    list,
    codeOf: (name) => `${prefix}_ERR_${name}`,
    make(name, message) {
      const ctor = constructors.get(name);
      if (!ctor) throw new Error(`error ${name} is not in the ${prefix} table`);
      return new ctor(message ?? merged[name]!.message);
    },
    has: (code) => codes.has(code),
  };
}

/** The admin API's own table (docs/contracts.md: 401 ADMIN_ERR_UNAUTHORIZED, 409 ADMIN_ERR_STALE_EPOCH). */
export const adminErrors = defineErrors('ADMIN', {
  STALE_EPOCH: { status: 409, message: 'epoch is older than the epoch this cell has stored' },
  PROMOTE_FAILED: { status: 503, message: 'promotion did not complete' },
});

export function isKnownError(err: unknown, tables: ErrorTable[]): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && tables.some((t) => t.has(code));
}

/**
 * Route schemas' `response` entries for the error statuses a route may answer with: each one is the
 * contract's error body (`{ error: { code, message } }`), documented and serialized like the rest.
 */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorBodySchema> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorBodySchema]));
}
