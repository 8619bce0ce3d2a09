// Compiles Node entry points (by default the image's: the three services, the router, the console and
// the links) into one ES module each, next to its .ts as <name>.bundle.mjs, with esbuild (tsx's own
// compiler, already a production dependency). Why: under tsx every start compiles the app again (~5 s of CPU measured in a
// container, ~4.8 s here), and a restart in place (app-crash) or a region's three apps starting at
// once (restore) then starved the serving region of a busy 2-core host. The bundles start in a
// fraction of that. npm packages stay external (node_modules as installed), but for INLINED below; the workspaces'
// TypeScript is bundled. Each file keeps its own import.meta.url, so paths such as a service's
// migrations directory resolve exactly as from source.
//
// Beside each bundle, <name>.bundle.inputs.json lists every source file that went into it with its
// SHA-256: the lab runs a bundle only while every input still hashes the same (infra/lab/src/bundles.ts
// reads it), so an edited source is never served from a stale bundle.
//   node infra/compose/node/bundle.mjs                      the image's entry points
//   node infra/compose/node/bundle.mjs --stale-only a.ts …  these, skipping bundles whose inputs match
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const BUNDLER = fileURLToPath(import.meta.url);
const REPO_ROOT = resolve(dirname(BUNDLER), '../../..');

const IMAGE_ENTRIES = [
  'services/login/src/server.ts',
  'services/payments/src/server.ts',
  'services/messaging/src/server.ts',
  'infra/router/src/server.ts',
  'infra/console/src/server.ts',
  'infra/links/src/server.ts',
];

// npm packages bundled in rather than imported at start. typebox ships ~700 small ES modules, and
// Node 20's ESM loader resolves, opens and compiles each one: importing typebox/compile cost 0.7–0.9 s
// of CPU per process here (a --cpu-prof of the import was all loader work), in every app, the router,
// the links and the lab daemon. Bundled, it is one module. The type provider comes with it, so there
// is one typebox in the process (its Kind symbols must be the ones our schemas were built with).
const INLINED = ['typebox', '@fastify/type-provider-typebox'];
const inlined = (path) => INLINED.some((name) => path === name || path.startsWith(`${name}/`));

const keepFileUrls = {
  name: 'keep-file-urls',
  setup(b) {
    // bare imports (npm packages, node: builtins) stay imports; the workspaces' own code is bundled
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@failover-lab/') || inlined(args.path)
        ? undefined
        : { path: args.path, external: true },
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

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
const bundleOf = (entry) => entry.replace(/\.ts$/, '.bundle.mjs');
const manifestOf = (entry) => entry.replace(/\.ts$/, '.bundle.inputs.json');

/** The bundle's recorded inputs all hash as they did when it was built. */
function isFresh(entry) {
  try {
    const { inputs } = JSON.parse(readFileSync(manifestOf(entry), 'utf8'));
    readFileSync(bundleOf(entry), { flag: 'r' });
    return Object.entries(inputs).every(([file, hash]) => sha256(resolve(REPO_ROOT, file)) === hash);
  } catch {
    return false;
  }
}

async function bundle(entry) {
  const result = await build({
    entryPoints: [entry],
    outfile: bundleOf(entry),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'warning',
    plugins: [keepFileUrls],
    metafile: true,
    write: false,
  });
  const inputs = Object.fromEntries(
    Object.keys(result.metafile.inputs).map((file) => {
      const path = resolve(process.cwd(), file);
      return [relative(REPO_ROOT, path), sha256(path)];
    }),
  );
  // the bundler is an input too: a bundle made under other rules (what is inlined) is stale
  inputs[relative(REPO_ROOT, BUNDLER)] = sha256(BUNDLER);
  // Written aside and renamed: two labs bundling at once must never start half a file.
  const suffix = `.${process.pid}.tmp`;
  writeFileSync(bundleOf(entry) + suffix, result.outputFiles[0].contents);
  renameSync(bundleOf(entry) + suffix, bundleOf(entry));
  writeFileSync(manifestOf(entry) + suffix, `${JSON.stringify({ inputs }, null, 1)}\n`);
  renameSync(manifestOf(entry) + suffix, manifestOf(entry));
}

const args = process.argv.slice(2);
const staleOnly = args.includes('--stale-only');
const named = args.filter((a) => a !== '--stale-only');
const entries = (named.length > 0 ? named : IMAGE_ENTRIES).map((e) => resolve(REPO_ROOT, e));
for (const entry of entries) {
  if (staleOnly && isFresh(entry)) continue;
  await bundle(entry);
  console.log(`bundled ${relative(REPO_ROOT, entry)}`);
}
