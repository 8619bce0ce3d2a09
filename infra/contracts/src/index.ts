// @failover-lab/contracts: the bottom of the dependency graph. Every other workspace may import it;
// it imports nothing of theirs. What is said here is said once.
export * from './cell-env';
export * from './comparison';
export * from './env';
export * from './error-body';
export * from './events';
export * from './faults';
export * from './headers';
export * from './lab-status';
export * from './links';
export * from './problems';
export * from './readiness';
export * from './refused-body';
export * from './report';
export * from './router-config';
export * from './router-state';
export * from './sweep';
export * from './vocabulary';
