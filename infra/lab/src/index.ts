export { LabClient, LabError } from './client';
export { startLab, stopLab } from './lab';
export { waitUntil } from './process';
export type { CellStatus, LabStatus } from './status';
export { leaseSubnet, randomTestSubnet } from './subnet-lease';
export * from './test-data-tier';
export * from './topology';
