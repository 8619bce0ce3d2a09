// Every error the router itself makes (upstream errors pass through untouched). One table; the README
// documents each code and a test checks that it does.
export const ROUTER_ERRORS = {
  ROUTER_ERR_NO_PRIMARY: { status: 503, message: 'no primary available for this service right now; retry' },
  ROUTER_ERR_HOLD_FULL: {
    status: 503,
    message: 'too many requests are waiting for a primary already; retry',
  },
  ROUTER_ERR_UPSTREAM_TIMEOUT: { status: 504, message: 'the primary did not answer in time' },
  ROUTER_ERR_SYNC_STANDBY_LOST: {
    status: 503,
    message: 'writes refused: the synchronous standby is lost and strict mode is on',
  },
  ROUTER_ERR_VALIDATION: { status: 400, message: 'invalid request' },
  ROUTER_ERR_NOT_FOUND: { status: 404, message: 'no such route' },
  ROUTER_ERR_BODY_TOO_LARGE: { status: 413, message: 'request body too large' },
  ROUTER_ERR_UNAUTHORIZED: { status: 401, message: 'admin token required' },
  ROUTER_ERR_FORBIDDEN: { status: 403, message: 'admin API is reachable from loopback only' },
  ROUTER_ERR_CONFLICT: { status: 409, message: 'the request conflicts with the current state' },
  ROUTER_ERR_CELL_UNREACHABLE: { status: 502, message: 'the cell did not accept the admin call' },
} as const;

export type RouterErrorCode = keyof typeof ROUTER_ERRORS;

export class RouterError extends Error {
  readonly status: number;
  constructor(
    readonly code: RouterErrorCode,
    message?: string,
  ) {
    super(message ?? ROUTER_ERRORS[code].message);
    this.status = ROUTER_ERRORS[code].status;
  }
}

export function errorBody(code: RouterErrorCode, message?: string) {
  return { error: { code, message: message ?? ROUTER_ERRORS[code].message } };
}
