export { adminPlugin, synchronousStandbyNamesFor } from './admin';
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
  commitFor,
  createPool,
  isConnectionError,
  READ_ONLY_SQLSTATE,
  type SynchronousCommit,
  withTransaction,
} from './db';
export {
  adminErrors,
  defineErrors,
  type ErrorInfo,
  type ErrorSpec,
  type ErrorTable,
  SHARED_ERRORS,
} from './errors';
export { readiness } from './health';
export type { CellMetrics } from './metrics';
export { runServer } from './server';
export {
  createTestSigner,
  errorCodesInSource,
  type TestCellStores,
  type TestSigner,
  testCellConfig,
  undocumentedCodes,
} from './testing';
