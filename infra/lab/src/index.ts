export * from './test-data-tier';
export * from './topology';
