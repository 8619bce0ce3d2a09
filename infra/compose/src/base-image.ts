// Makes the project's Debian base image (BASE_IMAGE) on a host that cannot pull it: mmdebstrap
// builds a minbase bookworm from the host's own Debian mirror, `docker import` tags it with the very
// name docker-compose.yml builds every image FROM. A host that reaches an image registry needs none
// of this: the first build pulls the base by that name.
//
// The host's extra CA certificates (/usr/local/share/ca-certificates/*.crt, e.g. a TLS-inspecting
// proxy's) go into the base, so `npm ci` inside a build trusts what the host trusts; nothing else of
// the host does.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE_IMAGE } from './compose-file';

export const BASE_SUITE = 'bookworm';
const HOST_CA_DIR = '/usr/local/share/ca-certificates';

/**
 * What mmdebstrap gets as its mirror: the host's deb822 debian.sources when it names a Debian archive
 * (so bookworm-updates and -security come along), else a deb line for `DEBIAN_MIRROR`, else
 * deb.debian.org.
 */
export function mirrorArgument(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DEBIAN_MIRROR) return env.DEBIAN_MIRROR;
  const sources = '/etc/apt/sources.list.d/debian.sources';
  if (existsSync(sources) && /^URIs:.*\/debian\/?\s*$/m.test(readFileSync(sources, 'utf8'))) return sources;
  return 'http://deb.debian.org/debian';
}

function run(file: string, args: string[], log: (line: string) => void): Promise<void> {
  log(`$ ${file} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new Error(`${file} is not installed (bash infra/compose/scripts/install-docker.sh)`)
          : err,
      ),
    );
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${file} exited with ${code}`))));
  });
}

export async function makeBaseImage(log: (line: string) => void, docker = 'docker'): Promise<number> {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'failover-lab-base-'));
  try {
    const rootfs = join(work, 'rootfs.tar');
    const cas = existsSync(HOST_CA_DIR) ? readdirSync(HOST_CA_DIR).filter((f) => f.endsWith('.crt')) : [];
    const hooks = cas.length
      ? [
          `--customize-hook=mkdir -p "$1${HOST_CA_DIR}"`,
          ...cas.map((f) => `--customize-hook=copy-in ${join(HOST_CA_DIR, f)} ${HOST_CA_DIR}`),
        ]
      : [];
    if (cas.length) log(`the host's extra CA certificates go into the base: ${cas.join(', ')}`);
    await run('mmdebstrap', ['--variant=minbase', ...hooks, BASE_SUITE, rootfs, mirrorArgument()], log);
    await run(docker, ['import', '--change', 'CMD ["bash"]', rootfs, BASE_IMAGE], log);
    const seconds = (Date.now() - started) / 1000;
    log(`${BASE_IMAGE} made locally in ${seconds.toFixed(0)} s`);
    return seconds;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
