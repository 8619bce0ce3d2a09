export { adminPlugin, synchronousStandbyNamesFor } from './admin';
export { bearerToken, isAdminToken, TOKEN_AUDIENCE, TOKEN_ISSUER, type TokenUser } from './auth';
export { type BuildCellOptions, buildCell } from './cell';
export { type CellRole, CellState, EPOCH_HEADER } from './cell-state';
export {
  type CellConfig,
  ConfigError,
  loadConfig,
  loadConfigOrExit,
  REGION_NAMES,
  type RegionName,
  SERVICE_NAMES,
  type ServiceName,
} from './config';
export {
  applyMigrations,
  createPool,
  isConnectionError,
  READ_ONLY_SQLSTATE,
  type SynchronousCommit,
  withTransaction,
} from './db';
export { DEADLINE_HEADER } from './deadline';
export {
  adminErrors,
  defineErrors,
  type ErrorInfo,
  type ErrorSpec,
  type ErrorTable,
  SHARED_ERRORS,
} from './errors';
export { type Readiness, readiness } from './health';
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
