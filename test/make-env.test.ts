// infra/compose/src/make-env.ts writes the compose secrets once, and only to a file it creates itself.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const REPO_ROOT = resolve(import.meta.dirname, '..');
const makeEnv = (target: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'infra/compose/src/make-env.ts', target], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'make-env-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('make-env.ts', () => {
  it('creates a 0600 file and prints no secret', () => {
    const target = join(dir, 'compose.env');
    const run = makeEnv(target);
    expect(run.status, run.stderr).toBe(0);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    const password = /^POSTGRES_PASSWORD=(.+)$/m.exec(readFileSync(target, 'utf8'))![1]!;
    expect(run.stdout + run.stderr).not.toContain(password);
  });

  it('refuses an existing complete file and leaves it as it was', () => {
    const target = join(dir, 'compose.env');
    writeFileSync(target, 'KEEP=1\nCONSOLE_TOKEN=t\nREDIS_PASSWORD=t\nLINKS_TOKEN=t\n');
    const run = makeEnv(target);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('exists');
    expect(readFileSync(target, 'utf8')).toBe('KEEP=1\nCONSOLE_TOKEN=t\nREDIS_PASSWORD=t\nLINKS_TOKEN=t\n');
  });

  it('never writes through a symlink planted at the target, not even a dangling one', () => {
    const target = join(dir, 'compose.env');
    const elsewhere = join(dir, 'elsewhere');
    symlinkSync(elsewhere, target);
    const run = makeEnv(target);
    expect(run.status).toBe(1);
    expect(existsSync(elsewhere)).toBe(false);
    expect(lstatSync(target).isSymbolicLink()).toBe(true);
  });
});
