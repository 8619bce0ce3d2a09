// The lab with the real apps and router: `up` starts them with the contract environment,
// Prometheus scrapes them, and a crashed app is restarted.

import { existsSync } from 'node:fs';
import { type LabStatus, SERVICES, type ServiceName } from '@failover-lab/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabClient } from '../src/client';
import { launchLab, stopLab } from '../src/lab';
import { waitUntil } from '../src/process';
import { makeTempStateDir } from '../src/test-data-tier';
import { processesMentioning } from './helpers';

describe('lab up with apps', () => {
  let lab: LabClient;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = makeTempStateDir('flab-apps-');
    ({ client: lab } = await launchLab({ stateDir }));
  }, 240_000);

  afterAll(async () => {
    if (!stateDir) return;
    const status = await lab.status().catch(() => undefined);
    await stopLab(stateDir, { wipe: true });
    const pids = [...(status?.cells.map((c) => c.app.pid) ?? []), status?.edge.router.pid].filter(Boolean);
    expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
    expect(processesMentioning(stateDir)).toEqual([]);
  }, 60_000);

  const appOf = (status: LabStatus, service: ServiceName, region: string) =>
    status.cells.find((c) => c.service === service && c.region === region)!.app;

  it('starts every app, answering /health/live on its cell address', async () => {
    const status = await lab.status();
    for (const cell of status.cells) {
      expect(cell.app.state).toBe('up');
      expect((await fetch(`${cell.app.url}/health/live`)).status).toBe(200);
      expect(cell.app.url).toBe(`http://${cell.host}:3000`);
    }
    expect(status.edge.router.state).toBe('up');
  });

  it('has Prometheus scrape every running app (and the router) each second', async () => {
    const expected = SERVICES.length * 2 + 1;
    await waitUntil(
      'every scrape target up',
      async () => {
        const res = await fetch(`${lab.topo.edge.prometheusUrl}/api/v1/targets?state=active`);
        const body = (await res.json()) as {
          data: { activeTargets: { health: string; scrapeInterval: string }[] };
        };
        const targets = body.data.activeTargets;
        return (
          targets.length === expected && targets.every((t) => t.health === 'up' && t.scrapeInterval === '1s')
        );
      },
      30_000,
      500,
    );
  });

  it('restarts a crashed app (kill --component app) and counts the restart', async () => {
    const service: ServiceName = 'login';
    const before = appOf(await lab.status(), service, 'dc-b');
    const result = await lab.kill('dc-b', { service, component: 'app' });
    expect(result.affected).toEqual([`${service}-dc-b-app`]);
    await waitUntil(
      `${service}-dc-b-app restarted`,
      async () => {
        const app = appOf(await lab.status(), service, 'dc-b');
        return app.state === 'up' && app.restarts === before.restarts + 1 && app.pid !== before.pid;
      },
      60_000,
      250,
    );
    await waitUntil(
      'the restarted app live',
      async () => (await fetch(`${before.url}/health/live`)).status === 200,
      60_000,
      250,
    );
  });

  // The restart backoff is 250 ms after a first crash: the fault below lands inside it (a LabClient
  // call takes a few ms). Landing after it would only make these tests pass for the wrong reason.
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('an app crashed just before its region is frozen restarts only after the thaw', async () => {
    const service: ServiceName = 'login';
    // The freeze must land inside the backoff, and two calls to the lab usually take a few ms; on a
    // loaded machine they may take longer. Which happened shows in the state: a restart before the
    // freeze was frozen with its region ('frozen': the case this test is not about, so thaw and try
    // again), one inside the frozen region would be running ('up': the bug), none is 'down'.
    const thawAndWaitUp = async (what: string) => {
      await lab.thaw('dc-a');
      await waitUntil(
        what,
        async () => appOf(await lab.status(), service, 'dc-a').state === 'up',
        60_000,
        250,
      );
    };
    let state = 'frozen';
    for (let attempt = 1; attempt <= 3 && state === 'frozen'; attempt++) {
      const before = appOf(await lab.status(), service, 'dc-a');
      await lab.kill('dc-a', { service, component: 'app' });
      await lab.freeze('dc-a');
      await sleep(1_500);
      const app = appOf(await lab.status(), service, 'dc-a');
      state = app.state;
      if (state !== 'frozen') break;
      expect(app.restarts, 'frozen: restarted before the freeze').toBe(before.restarts + 1);
      console.log(`attempt ${attempt}: the app restarted before the freeze landed; thawing and trying again`);
      await thawAndWaitUp(`${service}-dc-a-app up after the thaw`);
    }
    expect(state).toBe('down');
    await thawAndWaitUp(`${service}-dc-a-app restarted after the thaw`);
  });

  it('an app crashed just before its region is killed stays dead with the region', async () => {
    const service: ServiceName = 'login';
    await lab.kill('dc-b', { service, component: 'app' });
    await lab.kill('dc-b');
    await sleep(1_500);
    const status = await lab.status();
    expect(appOf(status, service, 'dc-b').state).toBe('down');
    expect(status.cells.filter((c) => c.region === 'dc-b').map((c) => c.app.state)).toEqual(
      SERVICES.map(() => 'down'),
    );
  });
});
