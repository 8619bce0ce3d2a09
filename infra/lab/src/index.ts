export { LabClient, LabError } from './client';
export { startLab, stopLab } from './lab';
export { waitUntil } from './process';
export { ensurePrerequisites } from './setup';
export type { CellStatus, LabStatus } from './status';
export { leaseSubnet, randomTestSubnet } from './subnet-lease';
export * from './test-data-tier';
export * from './topology';
