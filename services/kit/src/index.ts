// @failover-lab/cell-kit: what every cell shares. Test helpers are at '@failover-lab/cell-kit/testing'.
export { bearerToken, isAdminToken, TOKEN_AUDIENCE, TOKEN_ISSUER, type TokenUser } from './auth';
export { type BuildCellOptions, buildCell } from './cell';
export { CellState } from './cell-state';
export {
  type CellConfig,
  ConfigError,
  loadConfig,
  loadConfigOrExit,
} from './config';
export {
  applyMigrations,
  callTransaction,
  commitFor,
  createPool,
  isConnectionError,
  READ_ONLY_SQLSTATE,
  revocationCommitFor,
  type SynchronousCommit,
  withTransaction,
} from './db';
export {
  adminErrors,
  defineErrors,
  type ErrorInfo,
  type ErrorSpec,
  type ErrorTable,
  errorResponses,
  SHARED_ERRORS,
} from './errors';
export type { CellMetrics } from './metrics';
export { synchronousStandbyNamesFor } from './routes/admin';
export { readiness } from './routes/health';
export { runServer } from './server';
