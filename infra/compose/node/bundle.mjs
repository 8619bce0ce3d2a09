// Compiles each Node entry point of the image (the three services, the router and the console) into one ES module
// next to its server.ts, with esbuild (tsx's own compiler, already a production dependency). Why: under
// tsx every start compiles the app again (~5 s of CPU measured in a container), and a restart in place
// (app-crash) or a region's three apps starting at once (restore) then starved the serving region of a
// busy 2-core host. The bundles start in a fraction of that. npm packages stay external (node_modules
// as installed); only the workspaces' TypeScript is bundled. Each file keeps its own import.meta.url, so
// paths such as a service's migrations directory resolve exactly as from source.
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ENTRIES = [
  'services/login/src/server.ts',
  'services/payments/src/server.ts',
  'services/messaging/src/server.ts',
  'infra/router/src/server.ts',
  'infra/console/src/server.ts',
];

const keepFileUrls = {
  name: 'keep-file-urls',
  setup(b) {
    // bare imports (npm packages, node: builtins) stay imports; the workspaces' own code is bundled
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@failover-lab/') ? undefined : { path: args.path, external: true },
    );
    b.onLoad({ filter: /\.ts$/ }, async (args) => ({
      contents: (await readFile(args.path, 'utf8')).replaceAll(
        'import.meta.url',
        JSON.stringify(pathToFileURL(args.path).href),
      ),
      loader: 'ts',
    }));
  },
};

for (const entry of ENTRIES) {
  await build({
    entryPoints: [entry],
    outfile: entry.replace(/\.ts$/, '.bundle.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'warning',
    plugins: [keepFileUrls],
  });
  console.log(`bundled ${entry}`);
}
