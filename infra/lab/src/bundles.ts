// The lab runs its Node processes from esbuild bundles when they are current: starting an app through
// tsx compiles it first (~4.8 s of CPU each here), and a lab starts seven of them on 2 cores. The
// bundles are built by infra/compose/node/bundle.mjs (the same one the image uses), next to each entry
// file, with the SHA-256 of every input beside them; a bundle is used only while every input still
// hashes the same, so an edited source is never run from a stale bundle (it is rebuilt, or, if that
// fails, the entry runs through tsx as before).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from './paths';

const BUNDLER = join(REPO_ROOT, 'infra', 'compose', 'node', 'bundle.mjs');

const bundleOf = (entry: string) => entry.replace(/\.ts$/, '.bundle.mjs');
const manifestOf = (entry: string) => entry.replace(/\.ts$/, '.bundle.inputs.json');
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

// A bundle's inputs are ~1,000–1,500 files (every npm package in it): hashing them all took ~0.1 s of
// CPU per check, and the supervisor checks at every spawn. A file whose inode, size, mtime and ctime
// are unchanged is not hashed again (ctime cannot be set back from user space; a write moves it).
const hashed = new Map<string, { key: string; hash: string }>();
function inputHash(file: string): string {
  const st = statSync(file, { bigint: true });
  const key = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  const known = hashed.get(file);
  if (known?.key === key) return known.hash;
  const hash = sha256(file);
  hashed.set(file, { key, hash });
  return hash;
}

/** LAB_BUNDLES=0 runs every entry through tsx (to compare, or to rule the bundles out). */
const bundlesOff = () => process.env.LAB_BUNDLES === '0';

/** The bundle of `entry` if it exists and was built from exactly the sources there are now. */
export function freshBundle(entry: string): string | null {
  if (bundlesOff()) return null;
  try {
    const { inputs } = JSON.parse(readFileSync(manifestOf(entry), 'utf8')) as {
      inputs: Record<string, string>;
    };
    readFileSync(bundleOf(entry), { flag: 'r' });
    const current = Object.entries(inputs).every(
      ([file, hash]) => inputHash(resolve(REPO_ROOT, file)) === hash,
    );
    return current ? bundleOf(entry) : null;
  } catch {
    return null;
  }
}

/** Rebuild the bundles of these entries that are missing or stale (one esbuild run, ~1 s). */
export function ensureBundles(entries: string[], log?: (line: string) => void): void {
  if (bundlesOff()) return;
  const stale = entries.filter((e) => freshBundle(e) === null);
  if (stale.length === 0) return;
  const t0 = Date.now();
  const built = spawnSync(process.execPath, [BUNDLER, '--stale-only', ...stale], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (built.status !== 0) {
    // Not fatal: each entry then starts through tsx, slower but from its current source.
    log?.(`bundling failed (${built.stderr.trim().split('\n')[0] ?? built.status}); starting through tsx`);
    return;
  }
  log?.(`bundled ${stale.length} entry point(s) in ${Date.now() - t0} ms`);
}

/** node's arguments to run `entry`: its current bundle, else the source through tsx. */
export function nodeArgsFor(entry: string): string[] {
  const bundle = freshBundle(entry);
  return bundle ? ['--enable-source-maps', bundle] : ['--import', 'tsx', entry];
}
