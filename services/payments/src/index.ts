export { type BuildPaymentsCellOptions, buildPaymentsCell } from './app';
export { MAX_TRANSFER_AMOUNT, paymentErrors } from './errors';
export { type AuditResult, audit, executeTransfer, requestHash, type TransferInput } from './ledger';
