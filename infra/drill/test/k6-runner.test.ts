import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { k6Command, k6DroppedIterations } from '../src/load/k6-runner';

describe('k6Command', () => {
  it('runs the failover script against the router with the rate per service, token only in the environment', () => {
    const cmd = k6Command(
      {
        script: 'loadtests/failover.js',
        outFile: '/tmp/x/k6.jsonl',
        routerUrl: 'http://127.0.0.1:8080',
        ratePerService: 13,
        durationMs: 30_500,
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
      K6_RATE: '13',
      K6_DURATION: '31s',
      PAYMENTS_ADMIN_URL: 'http://127.0.1.2:3000',
      ADMIN_TOKEN: 'secret-admin-token-0123',
    });
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
