import { defineProject } from 'vitest/config';

// Only the pure parts (figures from a report, medians, the table, options); the benchmark is a script.
export default defineProject({
  test: {
    name: 'bench-recovery',
    include: ['test/**/*.test.ts'],
  },
});
