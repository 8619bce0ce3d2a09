// The first failover of a router's life must show in increase(): its counters exist at 0 from start.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseRouterConfig } from '../src/config';
import { buildRouter } from '../src/router';
import { EVENT_TYPES } from '../src/state/events';
import { randomSubnet } from './helpers/wait';

const dir = mkdtempSync(join(tmpdir(), 'router-metrics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('before any event, /metrics has every service × event type and the failover histogram at 0', async () => {
  const subnet = randomSubnet();
  // nobody listens on these cells: no probe succeeds, so nothing can have happened yet
  const config = parseRouterConfig(
    {
      listen: { host: `127.${subnet}.0.1`, port: 0 },
      stateFile: join(dir, 'router-state.json'),
      services: {
        payments: {
          mode: 'sync',
          cells: { 'dc-a': `http://127.${subnet}.1.2:9`, 'dc-b': `http://127.${subnet}.2.2:9` },
        },
        login: {
          mode: 'async',
          cells: { 'dc-a': `http://127.${subnet}.1.1:9`, 'dc-b': `http://127.${subnet}.2.1:9` },
        },
      },
    },
    { ADMIN_TOKEN: 'metrics-test-token-0123456789' },
  );
  const router = await buildRouter(config, { logger: false });
  try {
    const text = (await router.inject({ url: '/metrics' })).body;
    for (const service of ['payments', 'login']) {
      for (const type of EVENT_TYPES)
        expect(text).toContain(`controller_events_total{service="${service}",type="${type}"} 0`);
      expect(text).toContain(`controller_failover_duration_seconds_count{service="${service}"} 0`);
    }
  } finally {
    await router.close();
  }
});
