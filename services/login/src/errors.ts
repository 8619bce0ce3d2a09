// The login error table: every error this service answers with. The README lists each code (tested).
export const LOGIN_ERRORS = {
  VALIDATION: { status: 400, message: 'request does not match the schema' },
  UNAUTHORIZED: { status: 401, message: 'missing or invalid access token' },
  INVALID_CREDENTIALS: { status: 401, message: 'unknown username or wrong password' },
  TOKEN_REVOKED: { status: 401, message: 'access token or its session was revoked' },
  INVALID_REFRESH_TOKEN: { status: 401, message: 'refresh token unknown, expired or revoked' },
  REFRESH_TOKEN_REUSED: {
    status: 401,
    message: 'refresh token was already rotated; the whole session is revoked',
  },
  USER_NOT_FOUND: { status: 404, message: 'the user of this token no longer exists' },
  USERNAME_TAKEN: { status: 409, message: 'username is already taken' },
  RATE_LIMITED: { status: 429, message: 'too many sign-in attempts; retry later' },
  FENCED: { status: 503, message: 'this cell does not accept writes (fenced, standby or stale epoch)' },
} as const;
