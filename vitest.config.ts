import { defineConfig } from 'vitest/config';

// One root config; each workspace is a project so `npm test -- --project lab` runs one.
export default defineConfig({
  test: {
    projects: [
      'infra/contracts',
      'services/kit',
      'services/login',
      'services/payments',
      'services/messaging',
      'infra/links',
      'infra/lab',
      'infra/router',
      'infra/drill',
      'infra/console',
      'test',
      'bench/peers',
      'bench/recovery',
    ],
  },
});
