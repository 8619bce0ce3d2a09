// Compiles Node entry points (by default the image's: the three services, the router, the console and
// the links) into one ES module each, next to its .ts as <name>.bundle.mjs, with esbuild (tsx's own
// compiler, already a production dependency). Why: under tsx every start compiles the app again (~5 s of CPU measured in a
// container, ~4.8 s here), and a restart in place (app-crash) or a region's three apps starting at
// once (restore) then starved the serving region of a busy 2-core host. The bundles start in a
// fraction of that. The workspaces' TypeScript and the npm packages are bundled (all but EXTERNAL
// below). Each file keeps its own import.meta.url, so paths such as a service's
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

// npm packages are bundled in too, not imported from node_modules at start. Node 20's loaders resolve,
// stat, read and compile every module file one by one: typebox alone (~700 ES modules) cost 0.7–0.9 s
// of CPU per process, and with it inlined the remaining packages (fastify, pg, ioredis, OpenTelemetry,
// …: ~700 more files) still cost ~1 s of CPU per process at each start (--cpu-prof: loader work),
// in every app, the router, the links and the lab daemon, nine processes on 2 cores at `lab up`.
// One module of ~3.5 MB loads in ~0.5 s. Only what must stay a separate file is external:
// pg-native, pg's optional native binding (required in a try, not installed).
const EXTERNAL = ['pg-native'];
const external = (path) =>
  path.startsWith('node:') || EXTERNAL.some((name) => path === name || path.startsWith(`${name}/`));

const keepFileUrls = {
  name: 'keep-file-urls',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      external(args.path) ? { path: args.path, external: true } : undefined,
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

// Bundled CommonJS packages call require() for Node's builtins; an ES module has none of its own.
// __dirname stays undefined: the package code that reads it (pino's transports, ioredis with
// showFriendlyErrorStack) is never used by these entry points, and would look beside the bundle anyway.
const REQUIRE_SHIM =
  "import { createRequire as __flabCreateRequire } from 'node:module';\n" +
  'const require = __flabCreateRequire(import.meta.url);';

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
    // beside the bundle, not inline: an inline map of every package doubled what Node reads and decodes
    // at each start (--enable-source-maps)
    sourcemap: 'linked',
    // mappings only, not every input's text: the map of an app was 6.4 MB, 2.0 MB without, and Node
    // reads and parses it at every start with --enable-source-maps (~40 ms of CPU per process here,
    // nine of them in a lab's start); stack traces still name the original file and line
    sourcesContent: false,
    banner: { js: REQUIRE_SHIM },
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
  // the map first: a bundle is used only once it exists, and then its map is there
  const isMap = (f) => f.path.endsWith('.map');
  for (const file of [...result.outputFiles.filter(isMap), ...result.outputFiles.filter((f) => !isMap(f))]) {
    writeFileSync(file.path + suffix, file.contents);
    renameSync(file.path + suffix, file.path);
  }
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
