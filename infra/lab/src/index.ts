// @failover-lab/lab: the local lab for the lab CLI, the drill's local backend, and tests (product code
// never imports it; the layering test says so). Test helpers are at '@failover-lab/lab/testing'.
export { LabClient, LabError } from './client';
export { launchLab, type StartLabOptions, startLab, stopLab } from './lab';
export { ensurePrerequisites } from './setup';
export * from './topology';
