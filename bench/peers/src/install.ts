// The peers come from Debian's own packages (bookworm: Patroni 3.0.2, etcd 3.4, HAProxy 2.6, Redis
// Sentinel 7.0), installed only when a binary is missing. Debian's policy-rc.d keeps apt from starting
// their system services in containers; where it does start them, they listen on 127.0.0.1 and the
// benchmark's own 127.<subnet>.x.y addresses never meet them.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Requirement {
  binary: string;
  packages: string[];
}

export const REQUIREMENTS: Requirement[] = [
  // python3-etcd is the first of Patroni's alternative DCS clients; named so apt does not pick another
  { binary: '/usr/bin/patroni', packages: ['patroni', 'python3-etcd'] },
  { binary: '/usr/bin/etcd', packages: ['etcd-server'] },
  { binary: '/usr/bin/etcdctl', packages: ['etcd-client'] },
  { binary: '/usr/sbin/haproxy', packages: ['haproxy'] },
  { binary: '/usr/bin/redis-server', packages: ['redis-server'] },
  { binary: '/usr/bin/redis-sentinel', packages: ['redis-sentinel'] },
  { binary: '/usr/lib/postgresql/15/bin/pg_ctl', packages: ['postgresql-15'] },
];

export function missingPackages(exists: (path: string) => boolean = existsSync): string[] {
  return [...new Set(REQUIREMENTS.filter((r) => !exists(r.binary)).flatMap((r) => r.packages))];
}

export function ensurePackages(log: (line: string) => void): void {
  const missing = missingPackages();
  if (missing.length === 0) {
    log(`packages: all present (${REQUIREMENTS.map((r) => r.binary.split('/').pop()).join(', ')})`);
    return;
  }
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing packages: ${missing.join(' ')} — run as root, or: apt-get install -y --no-install-recommends ${missing.join(' ')}`,
    );
  }
  log(`packages: installing ${missing.join(' ')} (apt-get install --no-install-recommends)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, stdio: 'inherit' });
  if (install().status !== 0) {
    // a stale package index is the usual cause on a fresh machine
    execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'inherit' });
    if (install().status !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed`);
  }
  const still = missingPackages();
  if (still.length) throw new Error(`still missing after install: ${still.join(' ')}`);
  log(`packages: installed ${missing.join(' ')}`);
}

export function versions(): Record<string, string> {
  const first = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!;
    } catch (err) {
      return `unknown (${(err as Error).message.split('\n')[0]})`;
    }
  };
  return {
    patroni: first('/usr/bin/patroni', ['--version']),
    etcd: first('/usr/bin/etcd', ['--version']),
    haproxy: first('/usr/sbin/haproxy', ['-v']),
    redis: first('/usr/bin/redis-server', ['--version']),
    postgres: first('/usr/lib/postgresql/15/bin/postgres', ['--version']),
  };
}
