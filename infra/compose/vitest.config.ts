import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The compose end-to-end test: a real Docker engine, the real images, docker-compose.yml as users run
// it, a region-kill drill through the compose backend. Not one of the root projects (`npm test` must
// not start a Docker engine on a developer's machine): `npm run test:compose`, its own .ci/run step.
export default defineConfig({
  test: {
    name: 'compose',
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['test/**/*.e2e.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // one stack, one engine: the tests run in order, one at a time
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
