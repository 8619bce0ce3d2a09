// `npm run drill` on a machine without redis-server or prometheus runs the same prerequisite check (and
// install, as root on Debian) as `npm run lab -- up`, before it starts anything: here the drill runs as
// an unprivileged user with a PATH that has node but neither server, so the check must stop it with the
// installer's command (as root it would install them, which a test must not do to the machine).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const bin = mkdtempSync(join(tmpdir(), 'drill-prereq-'));
chmodSync(bin, 0o755);
for (const [name, target] of [
  ['node', process.execPath],
  ['sh', '/bin/sh'],
  ['id', '/usr/bin/id'],
] as const)
  symlinkSync(target, join(bin, name));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

it('stops before starting a lab, naming what is missing and the installer', () => {
  const env = { PATH: bin, HOME: bin, LAB_STATE_DIR: join(bin, 'state') };
  const command = [process.execPath, '--import', 'tsx', 'infra/drill/src/cli.ts', 'region-kill'];
  const asRoot = process.getuid?.() === 0;
  const result = asRoot
    ? spawnSync(
        'runuser',
        ['-u', 'nobody', '--', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...command],
        {
          cwd: REPO_ROOT,
          encoding: 'utf8',
          timeout: 60_000,
        },
      )
    : spawnSync(command[0]!, command.slice(1), { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 60_000 });
  expect(result.status, result.stderr).toBe(2);
  expect(result.stderr).toMatch(/missing: .*redis-server.*prometheus/);
  expect(result.stderr).toContain('install-os-packages.sh');
  expect(result.stderr).not.toContain('did not come up');
}, 90_000);
