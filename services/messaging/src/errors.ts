// The messaging error table: every error this service answers with. The README lists each code (tested).
export const MSG_ERRORS = {
  VALIDATION: { status: 400, message: 'request does not match the schema' },
  INVALID_CURSOR: { status: 400, message: 'cursor was not issued by this service' },
  UNAUTHORIZED: { status: 401, message: 'missing or invalid access token' },
  MESSAGE_NOT_FOUND: { status: 404, message: 'no message with this id' },
  ID_CONFLICT: {
    status: 409,
    message: 'a different message was already posted with this id',
  },
  FENCED: { status: 503, message: 'this cell does not accept writes (fenced, standby or stale epoch)' },
} as const;
