import { defineProject } from 'vitest/config';

// Only the pure parts (figures from records, table, chart, options); the benchmark itself is a script.
export default defineProject({
  test: {
    name: 'bench-peers',
    include: ['test/**/*.test.ts'],
  },
});
