// Builds the console page (web/) into web-build/, which is committed: the quickstart (`npm ci && npm
// run drill`, `npm test`) and the Docker image (`npm ci --omit=dev`) run no front-end build. Fixed
// file names (no content hash) keep a rebuild's diff to the same three files; test/build.test.ts fails
// when web-build/ is not what web/ builds to.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('./web'),
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: here('./web-build'),
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: false,
    reportCompressedSize: false,
    rolldownOptions: {
      // the build takes seconds; its per-plugin timing report is noise here
      checks: { pluginTimings: false },
      output: {
        entryFileNames: 'assets/console.js',
        chunkFileNames: 'assets/console-[name].js',
        assetFileNames: 'assets/console[extname]',
      },
    },
  },
});
