import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { k6Command, k6DroppedIterations, startK6 } from '../src/load/k6-runner';

describe('k6Command', () => {
  it('runs the failover script against the router with the whole total rate, LOAD_* variables, token only in the environment', () => {
    const cmd = k6Command(
      {
        script: 'loadtests/failover.js',
        outFile: '/tmp/x/k6.jsonl',
        routerUrl: 'http://127.0.0.1:8080',
        ratePerSec: 40,
        durationMs: 30_500,
        users: 8,
        paymentsAdminUrl: 'http://127.0.1.2:3000',
      },
      'secret-admin-token-0123',
    );
    expect(cmd.file).toBe('k6');
    expect(cmd.args).toEqual([
      'run',
      '--quiet',
      '--no-usage-report',
      '--out',
      'json=/tmp/x/k6.jsonl',
      'loadtests/failover.js',
    ]);
    expect(cmd.args.join(' ')).not.toContain('secret');
    expect(cmd.env).toEqual({
      ROUTER_URL: 'http://127.0.0.1:8080',
      LOAD_RATE: '40',
      LOAD_DURATION: '31s',
      LOAD_USERS: '8',
      PAYMENTS_ADMIN_URL: 'http://127.0.1.2:3000',
      ADMIN_TOKEN: 'secret-admin-token-0123',
    });
    // k6 reads every K6_* variable as its own option: none may carry a script setting
    expect(Object.keys(cmd.env).filter((k) => k.startsWith('K6_'))).toEqual([]);
  });

  it('refuses a fractional rate (k6 rejects it: "cannot unmarshal number … of type int64")', () => {
    const plan = {
      script: 's.js',
      outFile: 'o.jsonl',
      routerUrl: 'http://127.0.0.1:8080',
      durationMs: 1000,
      users: 8,
      paymentsAdminUrl: null,
    };
    expect(() => k6Command({ ...plan, ratePerSec: 40 / 3 }, 't')).toThrow(/whole request rates/);
  });
});

// A stand-in executable plays k6's process (k6 itself cannot be installed on this machine): what is
// tested is how the drill treats a k6 that dies at start and one whose load has begun.
describe('startK6', () => {
  async function standIn(script: string) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'k6-start-'));
    const bin = path.join(dir, 'k6');
    await writeFile(bin, `#!/bin/sh\n${script}\n`);
    await chmod(bin, 0o755);
    const outFile = path.join(dir, 'k6.jsonl');
    const command = { file: bin, args: [] as string[], env: { OUT: outFile } };
    return { dir, outFile, command };
  }
  const point = (scenario: string) =>
    JSON.stringify({
      metric: 'http_reqs',
      type: 'Point',
      data: { time: '2026-11-22T00:00:00Z', value: 1, tags: { scenario, service: 'login', op: 'me' } },
    });

  it('a k6 that exits before its scenarios send (e.g. 107: the script does not compile) never starts', async () => {
    const { dir, outFile, command } = await standIn('echo "SyntaxError" >&2; exit 107');
    try {
      const run = startK6(command, outFile, 10_000);
      await expect(run.started).rejects.toThrow(/k6 exited with code 107 before its load started/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("setup()'s requests alone are not the load; the first scenario request is", async () => {
    const { dir, outFile, command } = await standIn(
      `echo '${point('setup')}' > "$OUT"; sleep 1; echo '${point('me')}' >> "$OUT"; sleep 1; exit 0`,
    );
    try {
      const t0 = Date.now();
      const run = startK6(command, outFile, 10_000);
      await run.started;
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
      expect(await run.exited).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a k6 that dies after setup() only never starts either', async () => {
    const { dir, outFile, command } = await standIn(`echo '${point('setup')}' > "$OUT"; exit 108`);
    try {
      await expect(startK6(command, outFile, 10_000).started).rejects.toThrow(/code 108/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('k6DroppedIterations', () => {
  it('sums dropped_iterations points and ignores a torn last line', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'k6-dropped-'));
    const file = path.join(dir, 'out.jsonl');
    const point = (metric: string, value: number) =>
      JSON.stringify({ metric, type: 'Point', data: { time: '2026-11-22T00:00:00Z', value, tags: {} } });
    await writeFile(
      file,
      [
        point('http_reqs', 1),
        point('dropped_iterations', 1),
        point('dropped_iterations', 2),
        '{"metric":"dropped_iterations","type":"Po',
      ].join('\n'),
    );
    try {
      expect(await k6DroppedIterations(file)).toBe(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
