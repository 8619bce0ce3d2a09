// The login error table (the kit adds the shared codes: VALIDATION, UNAUTHORIZED, FENCED, UNAVAILABLE, …).
// The README lists every code; a test fails when one is missing.
import { defineErrors } from '@failover-lab/cell-kit';

export const loginErrors = defineErrors('LOGIN', {
  INVALID_CREDENTIALS: { status: 401, message: 'unknown username or wrong password' },
  TOKEN_REVOKED: { status: 401, message: 'the access token or its session was revoked' },
  INVALID_REFRESH_TOKEN: { status: 401, message: 'refresh token unknown, expired or revoked' },
  REFRESH_TOKEN_REUSED: {
    status: 401,
    message: 'refresh token was already rotated; the whole session is now revoked',
  },
  USER_NOT_FOUND: { status: 404, message: 'the user of this token does not exist' },
  USERNAME_TAKEN: { status: 409, message: 'username is already taken' },
  RATE_LIMITED: { status: 429, message: 'too many sign-in attempts; retry after the Retry-After seconds' },
});
