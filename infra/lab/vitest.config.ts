import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'lab',
    // a fault's test sits beside it in src/faults/
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
