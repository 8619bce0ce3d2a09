// `lab setup`: are the OS packages there? Install them when we may (root on Debian/Ubuntu),
// otherwise print the exact command. Reuses scripts/install-os-packages.sh (one installer).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findPostgresBinDir } from './datastores/postgres';
import { REPO_ROOT } from './paths';

const INSTALLER = join(REPO_ROOT, 'infra', 'lab', 'scripts', 'install-os-packages.sh');

export interface Prerequisites {
  postgresBinDir?: string;
  redisServer: boolean;
  prometheus: boolean;
  postgresUser: boolean;
  /** only asked for by `setup` (the tests' pretest): the console's browser tests need it, the lab does not */
  chromium?: boolean;
}

const onPath = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

export const CHROMIUM = '/usr/bin/chromium';

export function checkPrerequisites(opts: { testTools?: boolean } = {}): Prerequisites {
  let postgresUser = true;
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    postgresUser = false;
  }
  return {
    postgresBinDir: findPostgresBinDir(),
    redisServer: onPath('redis-server'),
    prometheus: onPath('prometheus'),
    postgresUser,
    ...(opts.testTools ? { chromium: existsSync(CHROMIUM) } : {}),
  };
}

export function missing(p: Prerequisites): string[] {
  const out: string[] = [];
  if (!p.postgresBinDir) out.push('postgresql (15+, with pg_basebackup and pg_rewind)');
  if (!p.postgresUser) out.push('the postgres OS user (comes with the postgresql package)');
  if (!p.redisServer) out.push('redis-server');
  if (!p.prometheus) out.push('prometheus');
  if (p.chromium === false) out.push(`chromium (${CHROMIUM}, for the console's browser tests)`);
  return out;
}

/** Ensures the prerequisites, installing them if we can; throws with the command otherwise. */
export function ensurePrerequisites(
  print: (line: string) => void,
  opts: { testTools?: boolean } = {},
): Prerequisites {
  let found = checkPrerequisites(opts);
  const absent = missing(found);
  if (absent.length === 0) return found;
  const canInstall = process.getuid?.() === 0 && existsSync('/etc/debian_version');
  if (!canInstall) {
    throw new Error(
      `missing: ${absent.join(', ')}.\nInstall them as root: sudo bash ${INSTALLER}\n` +
        '(= apt-get update && apt-get install -y --no-install-recommends postgresql redis-server prometheus)',
    );
  }
  print(`missing: ${absent.join(', ')}; installing with ${INSTALLER}`);
  const result = spawnSync('bash', [INSTALLER], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${INSTALLER} failed (exit ${result.status})`);
  found = checkPrerequisites(opts);
  const still = missing(found);
  if (still.length) throw new Error(`still missing after install: ${still.join(', ')}`);
  return found;
}
