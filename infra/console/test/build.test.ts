// web-build/ is committed (no front-end build at install or in the Docker image): it must be exactly
// what web/ builds to today, or the page people get is not the code in the repo.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/config';

const CONSOLE = join(REPO_ROOT, 'infra', 'console');

describe('the committed console build', () => {
  it('is what `npm run console:build` makes of web/ now', () => {
    const out = mkdtempSync(join(tmpdir(), 'console-build-'));
    try {
      execFileSync(
        process.execPath,
        [
          join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js'),
          'build',
          '--config',
          join(CONSOLE, 'vite.config.ts'),
          '--outDir',
          out,
          '--emptyOutDir',
        ],
        // vitest sets NODE_ENV=test, which would build Preact's development variant
        { cwd: REPO_ROOT, stdio: 'pipe', env: { ...process.env, NODE_ENV: 'production' } },
      );
      for (const file of ['index.html', 'assets/console.js', 'assets/console.css']) {
        const fresh = readFileSync(join(out, file), 'utf8');
        const committed = readFileSync(join(CONSOLE, 'web-build', file), 'utf8');
        expect(committed === fresh, `${file} is stale: run npm run console:build and commit web-build/`).toBe(
          true,
        );
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
