// Router config: loopback mode (the lab) keeps every address on 127/8; container mode (compose)
// accepts DNS names and a listen address of 0.0.0.0, and tells the Postgres probe where databases are.
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { adminRoutes } from '../src/admin/admin-routes';
import { ConfigError, DEFAULT_PROBE, parseRouterConfig } from '../src/config';
import type { Controller } from '../src/controller/controller';
import { Prober } from '../src/health/prober';
import type { EventLog } from '../src/state/events';
import { waitFor } from './helpers/wait';

const env = { ADMIN_TOKEN: 'test-admin-token-0123456789' };

/** The shape of infra/compose/router.json. */
const containerConfig = (extra: Record<string, unknown> = {}) => ({
  network: 'container',
  listen: { host: '0.0.0.0', port: 8080 },
  stateFile: '/var/lib/failover-lab/router-state.json',
  services: {
    payments: {
      mode: 'sync',
      cells: { 'dc-a': 'http://payments-dc-a-app:3000', 'dc-b': 'http://payments-dc-b-app:3000' },
      postgres: { 'dc-a': 'payments-dc-a-postgres:5432', 'dc-b': 'payments-dc-b-postgres:5432' },
    },
  },
  ...extra,
});

const problemsOf = (raw: unknown): string[] => {
  try {
    parseRouterConfig(raw, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('network: "container"', () => {
  it('accepts listen 0.0.0.0, cells by DNS name and Postgres addresses', () => {
    const config = parseRouterConfig(containerConfig(), env);
    expect(config.network).toBe('container');
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.services.payments!.cells['dc-a']).toBe('http://payments-dc-a-app:3000');
    expect(config.services.payments!.postgres).toEqual({
      'dc-a': { host: 'payments-dc-a-postgres', port: 5432 },
      'dc-b': { host: 'payments-dc-b-postgres', port: 5432 },
    });
  });

  it('still refuses what is not a host name, an IPv4 literal listen address, or a port', () => {
    const bad = containerConfig({ listen: { host: 'router', port: 8080 } });
    const svc = (bad.services as Record<string, Record<string, unknown>>).payments!;
    svc.cells = { 'dc-a': 'http://bad_name:3000', 'dc-b': 'https://payments-dc-b-app:3000' };
    svc.postgres = {
      'dc-a': 'payments-dc-a-postgres',
      'dc-b': 'payments-dc-b-postgres:99999',
      'dc-c': 'x:1',
    };
    const problems = problemsOf(bad);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^listen.host must be 0.0.0.0 or an IPv4 address/),
        expect.stringMatching(/^services.payments.cells.dc-a must be/),
        expect.stringMatching(/^services.payments.cells.dc-b must be/),
        expect.stringMatching(/^services.payments.postgres.dc-a must be/),
        expect.stringMatching(/^services.payments.postgres.dc-b must be/),
        expect.stringMatching(/^services.payments.postgres.dc-c: unknown region/),
      ]),
    );
    // an unknown mode is reported, and the rest is checked as loopback (the strict mode)
    const unknownMode = problemsOf(containerConfig({ network: 'host' }));
    expect(unknownMode).toContain('network must be "loopback" or "container", got "host"');
    expect(unknownMode).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^services.payments.cells.dc-a must be an http:\/\/127/),
      ]),
    );
  });

  it('the Postgres liveness probe asks the configured database address, not the cell URL host', async () => {
    const config = parseRouterConfig(containerConfig(), env);
    const asked: string[] = [];
    const prober = new Prober(
      [
        {
          service: 'payments',
          region: 'dc-a',
          url: config.services.payments!.cells['dc-a'],
          postgres: config.services.payments!.postgres!['dc-a'],
        },
      ],
      { ...DEFAULT_PROBE, intervalMs: 10, timeoutMs: 50 },
      // the app never answers, so the prober starts asking its Postgres (no network is touched)
      async () => ({ ok: false, at: Date.now(), ms: 1, ready: null, error: 'ECONNREFUSED' }),
      async (host, port) => {
        asked.push(`${host}:${port}`);
        return 'refused' as const;
      },
    );
    prober.start();
    try {
      await waitFor('a Postgres probe', () => asked.length > 0);
    } finally {
      await prober.stop();
    }
    expect(new Set(asked)).toEqual(new Set(['payments-dc-a-postgres:5432']));
  });
});

describe('network: "loopback" (the default)', () => {
  it('is the default and still accepts the lab config', () => {
    const config = parseRouterConfig(
      {
        listen: { host: '127.0.0.1', port: 8080 },
        stateFile: '/tmp/x.json',
        services: {
          payments: {
            mode: 'sync',
            cells: { 'dc-a': 'http://127.0.1.2:3000', 'dc-b': 'http://127.0.2.2:3000' },
          },
        },
      },
      env,
    );
    expect(config.network).toBe('loopback');
    expect(config.services.payments!.postgres).toBeUndefined();
  });

  it('refuses container names, 0.0.0.0 and non-loopback Postgres addresses', () => {
    const { network: _network, ...noMode } = containerConfig();
    const problems = problemsOf(noMode);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^listen.host must be a 127.x.y.z address/),
        expect.stringMatching(/^services.payments.cells.dc-a must be an http:\/\/127.x.y.z:port URL/),
        expect.stringMatching(/^services.payments.postgres.dc-a must be "127.x.y.z:port"/),
      ]),
    );
    expect(problemsOf({ ...containerConfig(), network: 'loopback' })).toEqual(problems);
  });
});

describe('admin API callers', () => {
  // inject() with a remoteAddress: no packet leaves the process
  const adminApp = async (anyRemoteAddress: boolean) => {
    const app = Fastify({ logger: false });
    const controller = { serviceNames: () => ['payments'], status: () => ({}) } as unknown as Controller;
    await app.register(async (scope) =>
      adminRoutes(scope, { token: env.ADMIN_TOKEN, controller, events: {} as EventLog, anyRemoteAddress }),
    );
    return app;
  };
  const status = (app: Awaited<ReturnType<typeof adminApp>>, token: string) =>
    app.inject({
      url: '/admin/status',
      remoteAddress: '198.51.100.7',
      headers: { authorization: `Bearer ${token}` },
    });

  it('loopback mode refuses a remote caller even with the token', async () => {
    const app = await adminApp(false);
    const res = await status(app, env.ADMIN_TOKEN);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('ROUTER_ERR_FORBIDDEN');
    await app.close();
  });

  it('container mode takes a remote caller with the token, and still refuses one without it', async () => {
    const app = await adminApp(true);
    expect((await status(app, env.ADMIN_TOKEN)).statusCode).toBe(200);
    const wrong = await status(app, 'not-the-token-at-all');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('ROUTER_ERR_UNAUTHORIZED');
    await app.close();
  });
});
