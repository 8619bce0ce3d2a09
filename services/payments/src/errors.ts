import { defineErrors } from '@failover-lab/cell-kit';

export const MAX_TRANSFER_AMOUNT = 10_000_000;

export const paymentErrors = defineErrors('PAY', {
  IDEMPOTENCY_KEY_INVALID: {
    status: 400,
    message: 'Idempotency-Key header is required: 1-128 characters of A-Z a-z 0-9 _ . : -',
  },
  IDEMPOTENCY_MISMATCH: { status: 422, message: 'this Idempotency-Key was used with a different request' },
  SAME_ACCOUNT: { status: 422, message: 'from and to must be different accounts' },
  ACCOUNT_NOT_FOUND: { status: 404, message: 'no such account' },
  TRANSFER_NOT_FOUND: { status: 404, message: 'no transfer with this idempotency key' },
  INSUFFICIENT_FUNDS: { status: 409, message: 'the source account balance is too low' },
});
