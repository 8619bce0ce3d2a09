// Errors the console's own API answers with: `{ "error": { "code", "message" } }`, like every other
// part of the platform. Upstream failures (router, lab) are wrapped with their code in the message.
export const CONSOLE_ERRORS = {
  CONSOLE_ERR_VALIDATION: { status: 400, message: 'malformed request' },
  CONSOLE_ERR_UNAUTHORIZED: { status: 401, message: 'the lab token is missing or wrong' },
  CONSOLE_ERR_NOT_FOUND: { status: 404, message: 'no such resource' },
  CONSOLE_ERR_BUSY: { status: 409, message: 'another operation is running' },
  CONSOLE_ERR_UNAVAILABLE: { status: 409, message: 'not available where this console runs' },
  CONSOLE_ERR_UPSTREAM: { status: 502, message: 'the router or the lab refused or did not answer' },
} as const;

export type ConsoleErrorCode = keyof typeof CONSOLE_ERRORS;

export class ConsoleError extends Error {
  readonly status: number;

  constructor(
    readonly code: ConsoleErrorCode,
    message?: string,
  ) {
    super(message ?? CONSOLE_ERRORS[code].message);
    this.status = CONSOLE_ERRORS[code].status;
  }
}

export function errorBody(code: ConsoleErrorCode, message?: string) {
  return { error: { code, message: message ?? CONSOLE_ERRORS[code].message } };
}
