// The messaging error table (the kit adds the shared codes: VALIDATION, UNAUTHORIZED, FENCED, …).
// The README lists every code; a test fails when one is missing.
import { defineErrors } from '@failover-lab/cell-kit';

export const messagingErrors = defineErrors('MSG', {
  INVALID_CURSOR: { status: 400, message: 'cursor (after / Last-Event-ID) was not issued by this service' },
  MESSAGE_NOT_FOUND: { status: 404, message: 'no message with this id' },
  ID_CONFLICT: { status: 409, message: 'a different message was already posted with this id' },
  TOO_MANY_STREAMS: { status: 429, message: 'you have the most event streams open that one user may' },
  STREAMS_FULL: { status: 429, message: 'this cell serves the most event streams it may; retry later' },
});
