// @failover-lab/lab/testing: for other workspaces' tests and benchmarks only. A real Postgres and
// Redis pair for one service, set up exactly like the lab; temp state dirs; leased subnets.
export {
  isRunning,
  type OsUser,
  postgresUser,
  processFamilies,
  processState,
  procTable,
  signalFamilies,
  waitGone,
  waitUntil,
} from './process';
export { postWholeBodyThenRead } from './raw-http';
export { leaseSubnet, randomTestSubnet } from './subnet-lease';
export * from './test-data-tier';
