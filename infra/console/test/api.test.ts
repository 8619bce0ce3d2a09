// The console's HTTP surface on its own, in compose mode (no lab supervisor): who gets in, what is
// never cached, what bad input gets back. Its router is a port nobody listens on, so nothing upstream
// can answer; the live view with a real router and lab is console.e2e.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postWholeBodyThenRead } from '@failover-lab/lab/testing';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, type ConsoleServer } from '../src/app';
import { configFromEnv } from '../src/config';

const TOKEN = 'console-test-token-0123456789';
const drillOut = mkdtempSync(join(tmpdir(), 'console-api-'));
let server: ConsoleServer;
const auth = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  const config = configFromEnv({
    CONSOLE_MODE: 'compose',
    ROUTER_URL: 'http://127.0.0.1:9', // discard: refused at once
    ADMIN_TOKEN: 'router-admin-token-0123456789',
    CONSOLE_TOKEN: TOKEN,
    DRILL_OUT_DIR: drillOut,
  });
  server = await buildConsole(config, { logLevel: 'silent' });
});

afterAll(async () => {
  await server.close();
  rmSync(drillOut, { recursive: true, force: true });
});

const inject = (opts: InjectOptions) => server.app.inject(opts);

describe('console API', () => {
  it('serves the page to anyone, with a strict content security policy and no caching', async () => {
    const page = await inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const script = await inject({ method: 'GET', url: '/assets/console.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toContain('text/javascript');
    const traversal = await inject({ method: 'GET', url: '/assets/../package.json' });
    expect(traversal.statusCode).toBe(404);
  });

  it('wants the token as a bearer header on every API call, and says so with a code', async () => {
    for (const headers of [
      {},
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: TOKEN },
      { authorization: 'Bearer ' },
    ]) {
      const res = await inject({ method: 'GET', url: '/api/session', headers });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('CONSOLE_ERR_UNAUTHORIZED');
      expect(res.headers['cache-control']).toBe('no-store');
    }
    // the token in the query string is not a way in
    const inUrl = await inject({ method: 'GET', url: `/api/session?token=${TOKEN}` });
    expect(inUrl.statusCode).toBe(401);
    const ok = await inject({ method: 'GET', url: '/api/session', headers: auth });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['cache-control']).toBe('no-store');
    expect(ok.json()).toMatchObject({
      mode: 'compose',
      capabilities: { faults: false, drills: false, traffic: false, switchover: true },
    });
  });

  it('answers bad input with 4xx and a code before anything else', async () => {
    const post = (url: string, payload: string, type = 'application/json') =>
      inject({ method: 'POST', url, headers: { ...auth, 'content-type': type }, payload });
    const cases: [string, string, number][] = [
      ['/api/faults', '{"action":"kill"}', 400],
      ['/api/faults', '{"action":"kill","region":"dc-z"}', 400],
      ['/api/faults', '{"action":"thaw","region":"dc-a","component":"app"}', 400],
      ['/api/faults', '[1,2]', 400],
      ['/api/faults', '{"action":', 400],
      ['/api/switchover', '{"service":"mail"}', 400],
      ['/api/switchover', '{"service":"payments","to":"mars"}', 400],
      ['/api/traffic', '{"action":"start","ratePerSec":1000}', 400],
      ['/api/traffic', '{"action":"stop","ratePerSec":5}', 400],
      ['/api/drills', '{"scenario":"meteor"}', 400],
      ['/api/drills', '{"scenario":"db-kill","durationS":9999}', 400],
    ];
    for (const [url, payload, status] of cases) {
      const res = await post(url, payload);
      expect(res.statusCode, `${url} ${payload}`).toBe(status);
      expect(res.json().error.code, `${url} ${payload}`).toBe('CONSOLE_ERR_VALIDATION');
    }
    const wrongType = await post('/api/faults', 'action=kill', 'application/x-www-form-urlencoded');
    expect(wrongType.statusCode).toBe(415);
    expect(wrongType.json().error.code).toBe('CONSOLE_ERR_VALIDATION');
    const tooBig = await post('/api/faults', JSON.stringify({ action: 'kill', region: 'x'.repeat(20_000) }));
    expect(tooBig.statusCode).toBe(413);
    // Over a real socket, from a client that reads only after sending: the console reads the rest of the
    // body before it closes, or the reset would throw the 413 away.
    const address = await server.app.listen({ host: '127.0.0.1', port: 0 });
    expect(await postWholeBodyThenRead(`${address}/api/faults`, 4 * 1024 * 1024, { headers: auth })).toBe(
      'HTTP/1.1 413 Payload Too Large CONSOLE_ERR_VALIDATION',
    );
    const report = await inject({ method: 'GET', url: '/api/drills/report?id=../../etc', headers: auth });
    expect(report.statusCode).toBe(400);
    const missing = await inject({ method: 'GET', url: '/api/drills/report?id=nope', headers: auth });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('CONSOLE_ERR_NOT_FOUND');
  });

  it('under compose, faults, traffic and drills are refused as unavailable; a dead router is a 502', async () => {
    const post = (url: string, body: unknown) =>
      inject({
        method: 'POST',
        url,
        headers: { ...auth, 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });
    for (const [url, body] of [
      ['/api/faults', { action: 'kill', region: 'dc-a' }],
      ['/api/traffic', { action: 'start', ratePerSec: 5 }],
      ['/api/drills', { scenario: 'region-kill' }],
    ] as const) {
      const res = await post(url, body);
      expect(res.statusCode, url).toBe(409);
      expect(res.json().error.code).toBe('CONSOLE_ERR_UNAVAILABLE');
    }
    const switchover = await post('/api/switchover', { service: 'payments', to: 'dc-b' });
    expect(switchover.statusCode).toBe(502);
    expect(switchover.json().error.code).toBe('CONSOLE_ERR_UPSTREAM');
  });

  it('refuses a compose configuration without its tokens', () => {
    expect(() =>
      configFromEnv({ CONSOLE_MODE: 'compose', ROUTER_URL: 'http://router:8080', ADMIN_TOKEN: 'x' }),
    ).toThrow(/CONSOLE_TOKEN/);
    expect(() => configFromEnv({ CONSOLE_MODE: 'kubernetes' })).toThrow(/CONSOLE_MODE/);
  });
});
