// The console end to end, on a real lab (Postgres, Redis, apps, router, the console itself started by
// the lab supervisor) in headless Debian Chromium: sign in, put traffic on, kill dc-a from the page,
// watch every route move to dc-b and the latency stall and settle on the charts, compare the page's
// failed-request counts with the load's own records; then restore dc-a, run a drill from the page and
// open its report. A screenshot of the failover is kept (path printed).

import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICES, type ServiceName } from '@failover-lab/contracts';
import { type LabClient, startLab, stopLab } from '@failover-lab/lab';
import { makeTempStateDir } from '@failover-lab/lab/testing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/config';
import { type Browser, launchChromium } from './browser';

const ARTIFACTS = join(REPO_ROOT, 'drill-out', 'console-e2e');

let lab: LabClient;
let browser: Browser;
let page: Page;
let token: string;
let consoleUrl: string;
// the lab's own temp dir: readable by the postgres user that runs the data tier
const stateDir = makeTempStateDir('console-lab-');

beforeAll(async () => {
  // seven node processes start at once: give them time on a busy 2-core machine
  process.env.LAB_APP_READY_TIMEOUT_MS ??= '180000';
  lab = await startLab({ stateDir, apps: true, console: true });
  token = JSON.parse(readFileSync(join(lab.stateDir, 'secrets.json'), 'utf8')).controlToken;
  consoleUrl = lab.topo.edge.consoleUrl;
  browser = await launchChromium();
  page = await browser.context.newPage();
}, 420_000);

afterAll(async () => {
  await browser?.close();
  await stopLab(lab ?? stateDir, { wipe: true });
  rmSync(stateDir, { recursive: true, force: true });
}, 120_000);

interface Answer {
  error: { code: string };
  capabilities: Record<string, boolean>;
}
const answer = async (res: Response): Promise<Answer> => (await res.json()) as Answer;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]!;
};

interface ChartRow {
  t: number;
  p99: number | null;
  requests: number;
}

/** The chart's numbers, as the page shows them in its text alternative (the table under each chart). */
async function chartRows(service: ServiceName): Promise<ChartRow[]> {
  const figure = page.getByRole('figure', { name: `${service} latency and success rate` });
  const details = figure.locator('details');
  if (!(await details.evaluate((d) => (d as unknown as { open: boolean }).open)))
    await figure.getByText('Numbers').click();
  // The table is rendered on the details' toggle event, which fires after the click returns: read it
  // before and there are no rows (CI once read payments' chart as empty: NaN before, no peak).
  await page.getByTestId(`chart-data-${service}`).waitFor();
  return page
    .getByTestId(`chart-data-${service}`)
    .locator('tbody tr')
    .evaluateAll((rows) =>
      rows.map((r) => {
        const el = r as unknown as { dataset: Record<string, string | undefined> };
        return {
          t: Number(el.dataset.t),
          p99: el.dataset.p99 === '' ? null : Number(el.dataset.p99),
          requests: Number(el.dataset.requests),
        };
      }),
    );
}

async function watchEventDelays(signal: AbortSignal, delays: number[]): Promise<void> {
  try {
    const res = await fetch(new URL('/api/stream', consoleUrl), {
      headers: { authorization: `Bearer ${token}` },
      signal,
    });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const data = buffer
          .slice(0, end)
          .split('\n')
          .find((l) => l.startsWith('data: '));
        buffer = buffer.slice(end + 2);
        const message = data
          ? (JSON.parse(data.slice(6)) as { kind: string; events?: { at: string }[] })
          : null;
        if (message?.kind === 'events')
          for (const e of message.events!) delays.push(Date.now() - Date.parse(e.at));
        end = buffer.indexOf('\n\n');
      }
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
}

describe('the lab console in Chromium', () => {
  it('serves the API only with the lab token, never cached, and refuses bad input with a code', async () => {
    const api = (path: string, init: RequestInit = {}) => fetch(new URL(path, consoleUrl), init);
    const page = await api('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");

    const anonymous = await api('/api/session');
    expect(anonymous.status).toBe(401);
    expect((await answer(anonymous)).error.code).toBe('CONSOLE_ERR_UNAUTHORIZED');
    const wrong = await api('/api/session', { headers: { authorization: `Bearer ${token}x` } });
    expect(wrong.status).toBe(401);

    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const session = await api('/api/session', { headers: auth });
    expect(session.status).toBe(200);
    expect(session.headers.get('cache-control')).toBe('no-store');
    expect((await answer(session)).capabilities).toMatchObject({ faults: true, drills: true, traffic: true });

    for (const body of [
      { action: 'explode', region: 'dc-a' },
      { action: 'kill', region: 'dc-c' },
      { action: 'freeze', region: 'dc-a', service: 'payments' },
      { action: 'kill', region: 'dc-a', component: 'postgres' },
      { action: 'kill', region: 'dc-a', extra: 1 },
    ]) {
      const res = await api('/api/faults', { method: 'POST', headers: auth, body: JSON.stringify(body) });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await answer(res)).error.code).toBe('CONSOLE_ERR_VALIDATION');
    }
    const notJson = await api('/api/faults', { method: 'POST', headers: auth, body: '{"action":' });
    expect(notJson.status).toBe(400);
    expect((await answer(notJson)).error.code).toBe('CONSOLE_ERR_VALIDATION');
    const traversal = await api('/api/drills/report?id=..%2F.lab', { headers: auth });
    expect(traversal.status).toBe(400);
    // nothing was changed by any of it
    const status = await lab.status();
    expect(status.cells.every((c) => c.app.state === 'up' && c.postgres.role !== 'down')).toBe(true);
  }, 60_000);

  it('kill dc-a from the page: routes move to dc-b, p99 stalls and settles, failures match the load', async () => {
    await page.goto(consoleUrl);
    await page.getByLabel('Lab token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not the lab token');
    await page.getByLabel('Lab token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('link-state').filter({ hasText: 'live' }).waitFor({ timeout: 30_000 });
    for (const s of SERVICES) await page.getByTestId(`route-${s}`).filter({ hasText: 'dc-a' }).waitFor();

    await page.getByRole('spinbutton', { name: 'Requests/s' }).first().fill('20');
    await page.getByRole('button', { name: 'Start traffic' }).click();
    await page.getByTestId('traffic-state').filter({ hasText: 'running' }).waitFor({ timeout: 120_000 });
    // a baseline: at least 10 s of traffic on the charts before the fault
    const trafficFrom = Date.now();
    await expect
      .poll(
        async () => (await chartRows('messaging')).filter((r) => r.t > trafficFrom && r.requests > 0).length,
        {
          timeout: 60_000,
          interval: 1_000,
        },
      )
      .toBeGreaterThanOrEqual(10);

    // Beside the page, the same stream read here: how long after the controller recorded an event
    // (its `at`, same machine clock) the console pushed it.
    const delays: number[] = [];
    const watching = new AbortController();
    const watched = watchEventDelays(watching.signal, delays);

    await page.getByRole('button', { name: 'Kill dc-a' }).click();
    const dialog = page.getByRole('dialog', { name: 'Kill dc-a?' });
    await dialog.waitFor();
    const killAt = Date.now();
    await dialog.getByRole('button', { name: 'Confirm: kill dc-a' }).click();
    for (const s of SERVICES) {
      await page.getByTestId(`route-${s}`).filter({ hasText: 'dc-b' }).waitFor({ timeout: 30_000 });
    }
    const routedOnPageMs = Date.now() - killAt;
    await page.getByTestId('faults').filter({ hasText: 'dc-a: region down' }).waitFor({ timeout: 10_000 });
    await page.getByTestId('events').filter({ hasText: 'traffic goes to dc-b' }).waitFor({ timeout: 10_000 });

    watching.abort();
    await watched;
    const sorted = [...delays].sort((a, b) => a - b);
    console.log(
      `console pushed ${delays.length} controller events: median ${median(delays)} ms, max ${sorted.at(-1)} ms after they were recorded`,
    );
    expect(delays.length).toBeGreaterThan(0);
    expect(sorted.at(-1)!).toBeLessThan(5_000);

    // 15 s of traffic after the failover, for the charts to settle
    await expect
      .poll(
        async () =>
          (await chartRows('messaging')).filter((r) => r.t > killAt + 5_000 && r.requests > 0).length,
        {
          timeout: 60_000,
          interval: 1_000,
        },
      )
      .toBeGreaterThanOrEqual(15);
    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, `console-failover-${new Date().toISOString().replace(/[:.]/g, '-')}.png`);
    // the whole page: regions, charts, events and drills in one picture (the README's)
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`console screenshot: ${shot} (routes on the page ${routedOnPageMs} ms after the click)`);
    if (process.env.CONSOLE_SCREENSHOT) copyFileSync(shot, process.env.CONSOLE_SCREENSHOT);

    // The charts as the page shows them, read before the traffic stops (the window slides on).
    const charts = new Map<ServiceName, { before: number; peak: number; after: number }>();
    for (const s of SERVICES) {
      const rows = (await chartRows(s)).filter((r) => r.requests > 0 && r.p99 !== null);
      const before = median(rows.filter((r) => r.t > trafficFrom && r.t < killAt).map((r) => r.p99!));
      const peak = Math.max(
        ...rows.filter((r) => r.t >= killAt && r.t <= killAt + 20_000).map((r) => r.p99!),
      );
      const after = median(rows.slice(-5).map((r) => r.p99!));
      console.log(`${s}: p99 before ${before} ms, peak ${peak} ms, last 5 s ${after} ms`);
      charts.set(s, { before, peak, after });
      // back to where it was after the failover (one histogram bucket of slack on a shared machine)
      expect(after, `${s} settled`).toBeLessThanOrEqual(Math.max(2.5 * before, before + 100));
    }

    await page.getByRole('button', { name: 'Stop traffic' }).click();
    await page.getByTestId('traffic-state').filter({ hasText: 'idle' }).waitFor({ timeout: 30_000 });
    const recordsText = await page.getByText('every request: drill-out/').textContent();
    const recordsFile = join(REPO_ROOT, recordsText!.replace('every request: ', '').trim());
    const records = readFileSync(recordsFile, 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            service: ServiceName;
            ok: boolean;
            status: number;
            startMs: number;
            endMs: number;
          },
      );
    for (const s of SERVICES) {
      const failedInRecords = records.filter((r) => r.service === s && !r.ok).length;
      expect(Number(await page.getByTestId(`traffic-failed-${s}`).textContent()), s).toBe(failedInRecords);
    }
    expect(Number(await page.getByTestId('traffic-failed-total').textContent())).toBe(
      records.filter((r) => !r.ok).length,
    );

    // The stall on the charts against the stall users felt. How long the failover holds requests
    // is what the project makes short (a few hundred ms, and less every round), and at 20 req/s
    // over three services a service may send nothing into it (none may, ~2 % of runs at a 200 ms
    // hold): so no fixed floor, and no service is required to have stalled. What must hold: a
    // service whose records show a request ending in the 19 s after the kill slower than 5 × its
    // p99 before (+ 100 ms for the client's own delays) shows a peak of at least 2 × that p99 (the
    // router's histogram buckets are at most 2.5 × apart: 5 × lands at least 2 × higher).
    for (const s of SERVICES) {
      const { before, peak } = charts.get(s)!;
      const slowest = Math.max(
        0,
        ...records
          .filter((r) => r.service === s && r.status > 0 && r.endMs >= killAt && r.endMs <= killAt + 19_000)
          .map((r) => r.endMs - r.startMs),
      );
      console.log(`${s}: slowest request ending in the 19 s after the kill ${Math.round(slowest)} ms`);
      if (slowest >= 5 * before + 100)
        expect(peak, `${s} stall (slowest ${Math.round(slowest)} ms)`).toBeGreaterThanOrEqual(2 * before);
    }
  }, 300_000);

  it('restore dc-a, run a drill from the page with live progress, and open its report', async () => {
    await page.getByRole('button', { name: 'Restore dc-a' }).click();
    await page
      .getByRole('dialog', { name: 'Restore dc-a?' })
      .getByRole('button', { name: 'Confirm: restore dc-a' })
      .click();
    await page.getByRole('status').filter({ hasText: 'restore dc-a: done' }).waitFor({ timeout: 240_000 });

    await page.getByLabel('Scenario').selectOption('app-crash');
    await page.getByRole('spinbutton', { name: 'Warm-up s' }).fill('2');
    await page.getByRole('spinbutton', { name: 'Load after fault s' }).fill('5');
    await page.getByRole('spinbutton', { name: 'Requests/s' }).last().fill('10');
    // two sign-ups instead of eight: each is ~0.6 s of scrypt CPU, and at load 20 on 2 cores eight of
    // them outlasted the router's 3 s timeout (the drill could not even start)
    await page.getByRole('spinbutton', { name: 'Users' }).fill('2');
    await page.getByRole('button', { name: 'Run drill' }).click();
    await page
      .getByRole('dialog', { name: 'Run drill app-crash?' })
      .getByRole('button', { name: 'Confirm: run app-crash' })
      .click();
    const run = page.getByTestId('drill-run');
    await run.filter({ hasText: 'running' }).waitFor({ timeout: 10_000 });
    await page.getByRole('progressbar', { name: 'drill load progress' }).waitFor({ timeout: 180_000 });
    await run.filter({ hasText: /PASS|FAIL|could not run/ }).waitFor({ timeout: 300_000 });
    // The page shows the drill's own verdict (the drill's e2e tests judge the failover); here it must
    // have run to a report.
    const verdict = /PASS|FAIL/.exec((await run.textContent()) ?? '')?.[0];
    console.log(`drill from the page: ${verdict ?? (await run.textContent())}`);
    expect(verdict).toBeDefined();

    const history = page.getByTestId('history');
    await history.getByRole('row').filter({ hasText: 'app-crash' }).first().waitFor();
    await history
      .getByRole('button', { name: /Open report app-crash/ })
      .first()
      .click();
    const frame = page.frameLocator('iframe[title^="drill report"]');
    await frame
      .getByText(/app-crash/)
      .first()
      .waitFor({ timeout: 10_000 });
    await frame.getByText(new RegExp(verdict!, 'i')).first().waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Close report' }).click();

    // the token never reached the console's log or any process's argv
    expect(readFileSync(join(lab.stateDir, 'logs', 'console.log'), 'utf8')).not.toContain(token);
    const pid = (await lab.status()).edge.console?.pid;
    expect(pid).toBeTypeOf('number');
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(token);
  }, 480_000);
});
