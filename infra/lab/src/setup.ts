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
}

const onPath = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

export function checkPrerequisites(): Prerequisites {
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
  };
}

export function missing(p: Prerequisites): string[] {
  const out: string[] = [];
  if (!p.postgresBinDir) out.push('postgresql (15+, with pg_basebackup and pg_rewind)');
  if (!p.postgresUser) out.push('the postgres OS user (comes with the postgresql package)');
  if (!p.redisServer) out.push('redis-server');
  if (!p.prometheus) out.push('prometheus');
  return out;
}

/** Ensures the prerequisites, installing them if we can; throws with the command otherwise. */
export function ensurePrerequisites(print: (line: string) => void): Prerequisites {
  let found = checkPrerequisites();
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
  found = checkPrerequisites();
  const still = missing(found);
  if (still.length) throw new Error(`still missing after install: ${still.join(', ')}`);
  return found;
}
