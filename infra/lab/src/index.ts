export { LabClient, LabError } from './client';
export { startLab, stopLab } from './lab';
export type { CellStatus, LabStatus } from './status';
export * from './test-data-tier';
export * from './topology';
