import { defineProject } from 'vitest/config';

// Repository-level checks: contracts, compose/Prometheus/Grafana config, docs.
export default defineProject({
  test: {
    name: 'repo',
    include: ['**/*.test.ts'],
    testTimeout: 60_000,
  },
});
