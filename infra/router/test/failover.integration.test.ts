// The router on the real lab: real Postgres streaming replication, real Redis, the real services,
// real signals (SIGKILL, SIGSTOP/SIGCONT) through the lab supervisor, steady traffic through the router.
// One lab for the whole file; the scenarios run in order and each leaves the lab in a known state.

import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ControllerEvent } from '@failover-lab/contracts';
import { type LabClient, startLab, stopLab } from '@failover-lab/lab';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PROBE } from '../src/config';
import { type LabUsers, setupUsers, summarize, Traffic } from './helpers/traffic';
import { waitFor } from './helpers/wait';

type Svc = 'login' | 'payments' | 'messaging';
interface ServiceStatus {
  primary: string;
  epoch: number;
  serving: boolean;
  rpoGuaranteeSuspended: boolean;
  cells: Record<string, { status: string; role: string | null }>;
}

let lab: LabClient;
let adminToken: string;
let routerUrl: string;
let users: LabUsers;
let traffic: Traffic;
let trafficStartedAt = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cellUrl = (service: Svc, region: string) =>
  lab.topo.cells.find((c) => c.service === service && c.region === region)!.appUrl;

async function routerAdmin<T>(
  path: string,
  method: 'GET' | 'POST' = 'GET',
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await request(`${routerUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${adminToken}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.statusCode, body: (await res.body.json()) as T };
}
const status = async () =>
  (await routerAdmin<{ services: Record<Svc, ServiceStatus> }>('/admin/status')).body.services;
const eventsSince = async (t: number) =>
  (await routerAdmin<{ events: ControllerEvent[] }>(`/admin/events?since=${new Date(t - 1).toISOString()}`))
    .body.events;
const waitForEvent = (t: number, match: Partial<ControllerEvent>, timeoutMs = 30_000) =>
  waitFor(
    `event ${JSON.stringify(match)}`,
    async () =>
      (await eventsSince(t)).find((e) =>
        Object.entries(match).every(([k, v]) => (e as unknown as Record<string, unknown>)[k] === v),
      ),
    timeoutMs,
    100,
  );
const waitForPrimary = (service: Svc, region: string, timeoutMs = 30_000) =>
  waitFor(
    `${service} served by ${region}`,
    async () => {
      const s = (await status())[service];
      return s.primary === region && s.serving ? s : null;
    },
    timeoutMs,
    50,
  );
/** The lab's supervisor has restarted the router (it had restarted it `before` times). */
const routerRestarted = (before: number) =>
  waitFor('router restarted', async () => (await lab.status()).edge.router.restarts > before, 30_000, 100);
const metricsText = async () => (await request(`${routerUrl}/metrics`)).body.text();

beforeAll(async () => {
  lab = await startLab();
  adminToken = (
    JSON.parse(readFileSync(join(lab.stateDir, 'secrets.json'), 'utf8')) as { adminToken: string }
  ).adminToken;
  routerUrl = lab.topo.edge.routerUrl;
  for (const s of ['login', 'payments', 'messaging'] as const) await waitForPrimary(s, 'dc-a', 60_000);
  users = await setupUsers(routerUrl, cellUrl('payments', 'dc-a'), adminToken);
  traffic = new Traffic(routerUrl, users, 50);
  trafficStartedAt = Date.now();
  traffic.start();
  await sleep(1000);
}, 240_000);

afterAll(async () => {
  await traffic?.stop();
  if (lab) {
    // A scenario that failed half-way may leave a region frozen; thawed processes stop faster.
    // Bounded: the supervisor may still be busy with a restore a failed scenario left running.
    for (const region of ['dc-a', 'dc-b'] as const) {
      await Promise.race([lab.thaw(region).catch(() => {}), sleep(5_000)]);
    }
    // ROUTER_IT_KEEP_LOGS=<dir>: keep the lab's logs and the router's event file for a post-mortem.
    if (process.env.ROUTER_IT_KEEP_LOGS) {
      cpSync(join(lab.stateDir, 'logs'), process.env.ROUTER_IT_KEEP_LOGS, { recursive: true });
      cpSync(join(lab.stateDir, 'edge'), join(process.env.ROUTER_IT_KEEP_LOGS, 'edge'), { recursive: true });
    }
    const { leftovers } = await stopLab(lab, { wipe: true });
    expect(leftovers).toEqual([]);
  }
}, 240_000);

describe.sequential('failover on the real lab', () => {
  it('steady state: every service served by dc-a at epoch 1, no failures', async () => {
    // Records appear as requests complete; the first ones are slow on a loaded box (cold connections).
    await waitFor('steady traffic', () => traffic.since(trafficStartedAt).length > 10, 20_000, 50);
    const recent = traffic.since(trafficStartedAt);
    expect(traffic.failures(0)).toEqual([]);
    expect(new Set(recent.map((r) => r.servedBy))).toEqual(new Set(['dc-a']));
  });

  it('an app crash (its Postgres alive) is restarted in place by the supervisor, not failed over', async () => {
    const t0 = Date.now();
    const before = (await lab.status()).cells.find((c) => c.service === 'messaging' && c.region === 'dc-a')!;
    await lab.kill('dc-a', { service: 'messaging', component: 'app' });
    await waitFor(
      'messaging app restarted',
      async () => {
        const cell = (await lab.status()).cells.find(
          (c) => c.service === 'messaging' && c.region === 'dc-a',
        )!;
        return cell.app.restarts > before.app.restarts && cell.app.state === 'up';
      },
      60_000,
      200,
    );
    await waitForPrimary('messaging', 'dc-a');
    const events = (await eventsSince(t0)).filter((e) => e.service === 'messaging');
    console.log(
      `app crash: ${events.map((e) => `${e.type}:${e.region}`).join(' ')}; ${summarize(traffic.since(t0, 'messaging'))}`,
    );
    expect(events.map((e) => e.type)).toContain('confirmed_down');
    expect(events.filter((e) => e.type === 'promote_started')).toEqual([]);
    expect((await status()).messaging).toMatchObject({ primary: 'dc-a', epoch: 1 });
    expect(traffic.failures(t0, 'login')).toEqual([]);
    expect(traffic.failures(t0, 'payments')).toEqual([]);
  }, 120_000);

  it('killing the dc-b payments standby degrades payments to async without hanging writes past detection', async () => {
    const t0 = Date.now();
    await lab.kill('dc-b', { service: 'payments', component: 'postgres' });
    const degraded = await waitForEvent(t0, { type: 'degraded_async', service: 'payments', region: 'dc-a' });
    // Writes held by the lost standby finish only once the degrade reaches Postgres; on a loaded box that
    // can take more than a fixed second, so wait for them (records appear when a request completes).
    const transfers = () => traffic.since(t0, 'payments').filter((r) => r.op === 'transfer');
    await waitFor('transfers after the standby loss', () => transfers().length > 5, 20_000, 50);
    const writes = transfers();
    const slowest = Math.max(...writes.map((r) => r.end - r.start));
    // Detection: `fall` failed probes, each at most interval + timeout apart, then one admin call.
    const detectionBoundMs = DEFAULT_PROBE.fall * (DEFAULT_PROBE.intervalMs + DEFAULT_PROBE.timeoutMs) + 1000;
    console.log(
      `standby loss: degraded after ${Date.parse(degraded.at) - t0} ms, slowest transfer ${slowest} ms (bound ${detectionBoundMs} ms); ${summarize(traffic.since(t0))}`,
    );
    expect(writes.length).toBeGreaterThan(5);
    expect(traffic.failures(t0)).toEqual([]);
    expect(slowest).toBeLessThan(detectionBoundMs);
    expect((await status()).payments).toMatchObject({
      primary: 'dc-a',
      epoch: 1,
      rpoGuaranteeSuspended: true,
    });
    expect(await metricsText()).toMatch(/controller_rpo_guarantee_suspended\{service="payments"\} 1/);

    const t1 = Date.now();
    await lab.restore('dc-b');
    await waitForEvent(t1, { type: 'sync_restored', service: 'payments', region: 'dc-a' }, 60_000);
    expect(await metricsText()).toMatch(/controller_rpo_guarantee_suspended\{service="payments"\} 0/);
  }, 120_000);

  it("SIGKILL of dc-a's payments Postgres alone moves payments to dc-b; login and messaging stay on dc-a; no failed request", async () => {
    const t0 = Date.now();
    await lab.kill('dc-a', { service: 'payments', component: 'postgres' });
    await waitForPrimary('payments', 'dc-b');
    const routed = await waitForEvent(t0, { type: 'routed', service: 'payments', region: 'dc-b', epoch: 2 });
    const routedAt = Date.parse(routed.at);
    // Liveness on a loaded box: wait for requests started after the flip to complete, not a fixed time.
    await waitFor(
      'payments traffic after the flip',
      () => traffic.since(routedAt + 50, 'payments').length >= 6,
      20_000,
      50,
    );
    const events = (await eventsSince(t0))
      .filter((e) => e.service === 'payments')
      .map((e) => `${e.type}:${e.region}`);
    console.log(
      `db-kill: routed ${Date.parse(routed.at) - t0} ms after the kill; events ${events.join(' ')}; ${summarize(traffic.since(t0))}`,
    );
    expect(events).toEqual(
      expect.arrayContaining(['confirmed_down:dc-a', 'promote_started:dc-b', 'promoted:dc-b', 'routed:dc-b']),
    );
    expect(traffic.failures(t0)).toEqual([]);
    for (const s of ['login', 'messaging'] as const) {
      expect(new Set(traffic.since(t0, s).map((r) => r.servedBy))).toEqual(new Set(['dc-a']));
    }
    const late = traffic.since(routedAt + 50, 'payments');
    expect(new Set(late.map((r) => r.servedBy))).toEqual(new Set(['dc-b']));
    const s = await status();
    expect(s.login).toMatchObject({ primary: 'dc-a', epoch: 1 });
    expect(s.messaging).toMatchObject({ primary: 'dc-a', epoch: 1 });
    expect(s.payments).toMatchObject({ primary: 'dc-b', epoch: 2 });
  }, 120_000);

  it('a router restart mid-run keeps the routes: no promotion, no flip', async () => {
    const before = await status();
    const edge = (await lab.status()).edge.router;
    expect(edge.pid).toBeGreaterThan(0);
    const t0 = Date.now();
    // The router is a process this test's lab started; it leads its own process group.
    process.kill(-edge.pid!, 'SIGKILL');
    await routerRestarted(edge.restarts);
    await waitFor(
      'router live',
      async () => (await request(`${routerUrl}/health/live`)).statusCode === 200,
      60_000,
      100,
    );
    await waitFor(
      'router serving every service',
      async () => (await request(`${routerUrl}/health/ready`)).statusCode === 200,
      30_000,
      50,
    );
    const readyAt = Date.now();
    const after = await status();
    await sleep(1000);
    const events = await eventsSince(t0);
    console.log(
      `router restart: ready ${readyAt - t0} ms after SIGKILL; events ${events.map((e) => `${e.type}:${e.service}:${e.region}`).join(' ')}`,
    );
    for (const s of ['login', 'payments', 'messaging'] as const) {
      expect({ primary: after[s].primary, epoch: after[s].epoch }).toEqual({
        primary: before[s].primary,
        epoch: before[s].epoch,
      });
    }
    expect(
      events.filter(
        (e) => e.type === 'promote_started' || (e.type === 'promoted' && e.epoch !== before[e.service].epoch),
      ),
    ).toEqual([]);
    expect(traffic.failures(readyAt)).toEqual([]);
    expect(new Set(traffic.since(readyAt, 'payments').map((r) => r.servedBy))).toEqual(new Set(['dc-b']));
    expect(new Set(traffic.since(readyAt, 'login').map((r) => r.servedBy))).toEqual(new Set(['dc-a']));
    // Let the restarted router's start-up grace run out so the next scenario measures a plain failover.
    await sleep(Math.max(0, readyAt + DEFAULT_PROBE.startupGraceMs - Date.now()));
  }, 120_000);

  it('a router outage longer than the lease: every primary fences itself, the restarted router claims them back by itself', async () => {
    const before = await status();
    const primaries = (['login', 'payments', 'messaging'] as const).map((s) => ({
      service: s,
      region: before[s].primary,
      epoch: before[s].epoch,
    }));
    const edge = (await lab.status()).edge.router;
    // Stopped, not killed: no probe leaves it, so no lease is renewed (the supervisor restarts only exits).
    process.kill(-edge.pid!, 'SIGSTOP');
    const t0 = Date.now();
    let fenced: Array<{ fenced: boolean; selfFencedAt?: string }>;
    try {
      fenced = await waitFor(
        'every primary fenced itself',
        async () => {
          const cells = await Promise.all(
            primaries.map(async (p) => {
              // a probe without the lease headers renews nothing
              const res = await request(`${cellUrl(p.service, p.region)}/health/ready`);
              return (await res.body.json()) as { fenced: boolean; selfFencedAt?: string };
            }),
          );
          return cells.every((c) => c.fenced && c.selfFencedAt) ? cells : null;
        },
        30_000,
        100,
      );
    } finally {
      // a stopped router is killed either way: the lab restarts it, and nothing is left stopped
      process.kill(-edge.pid!, 'SIGKILL');
    }
    const killedAt = Date.now();
    const allFencedMs = killedAt - t0;
    await routerRestarted(edge.restarts);
    // No manual step: the restarted router claims each self-fenced primary at its epoch, then routes.
    await waitFor(
      'router serving every service again',
      async () => {
        const res = await request(`${routerUrl}/health/ready`).catch(() => null);
        return res?.statusCode === 200;
      },
      60_000,
      50,
    );
    const servingAt = Date.now();
    const after = await status();
    const events = await eventsSince(killedAt);
    console.log(
      `router outage: every primary fenced itself ${allFencedMs} ms after the router stopped; serving again ${servingAt - killedAt} ms after its restart; events ${events.map((e) => `${e.type}:${e.service}:${e.region}`).join(' ')}`,
    );
    expect(fenced.map((c) => c.fenced)).toEqual([true, true, true]);
    for (const p of primaries) {
      expect({ primary: after[p.service].primary, epoch: after[p.service].epoch }).toEqual({
        primary: p.region,
        epoch: p.epoch,
      });
      expect(
        events.find((e) => e.type === 'promoted' && e.service === p.service && e.detail?.startsWith('claim')),
        `${p.service} claimed back`,
      ).toMatchObject({ region: p.region, epoch: p.epoch });
    }
    expect(events.filter((e) => e.type === 'promote_started')).toEqual([]);
    // Bounded: a restart, one probe and a claim per service; generous for a machine at load 20.
    expect(servingAt - killedAt).toBeLessThan(30_000);
    await sleep(500);
    expect(traffic.failures(servingAt)).toEqual([]);
    await sleep(Math.max(0, servingAt + DEFAULT_PROBE.startupGraceMs - Date.now()));
  }, 120_000);

  it('kill dc-a moves all three services to dc-b with no failed request', async () => {
    const t0 = Date.now();
    await lab.kill('dc-a');
    for (const s of ['login', 'payments', 'messaging'] as const) await waitForPrimary(s, 'dc-b');
    const flippedAt = Date.now();
    for (const s of ['login', 'payments', 'messaging'] as const) {
      await waitFor(`${s} traffic after the flip`, () => traffic.since(flippedAt, s).length >= 6, 20_000, 50);
    }
    const routed = (await eventsSince(t0)).filter((e) => e.type === 'routed');
    console.log(
      `region kill: ${routed.map((e) => `${e.service} routed to ${e.region}@${e.epoch} +${Date.parse(e.at) - t0} ms`).join(', ')}; ${summarize(traffic.since(t0))}`,
    );
    expect(traffic.failures(t0)).toEqual([]);
    for (const s of ['login', 'payments', 'messaging'] as const) {
      expect(new Set(traffic.since(flippedAt, s).map((r) => r.servedBy))).toEqual(new Set(['dc-b']));
    }
    const slowest = Math.max(...traffic.since(t0).map((r) => r.end - r.start));
    console.log(`region kill: longest request (held through the failover) ${slowest} ms`);
  }, 120_000);

  it('restore dc-a as standby, then a planned switchover of every service back to dc-a loses nothing', async () => {
    const t0 = Date.now();
    await lab.restore('dc-a');
    await waitForEvent(t0, { type: 'sync_restored', service: 'payments', region: 'dc-b' }, 60_000);
    for (const s of ['login', 'payments', 'messaging'] as const) {
      await waitFor(
        `${s} dc-a standby up`,
        async () => {
          const c = (await status())[s].cells['dc-a']!;
          return c.status === 'up' && c.role === 'standby';
        },
        60_000,
        100,
      );
    }
    const t1 = Date.now();
    for (const s of ['login', 'payments', 'messaging'] as const) {
      const res = await routerAdmin<{ to: string; epoch: number; ms: number }>('/admin/switchover', 'POST', {
        service: s,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.to).toBe('dc-a');
      console.log(`switchover ${s} → dc-a: epoch ${res.body.epoch}, ${res.body.ms} ms`);
    }
    await sleep(1000);
    expect(traffic.failures(t1)).toEqual([]);
    // The old primaries in dc-b are fenced Postgres primaries now: rebuild them as standbys of dc-a.
    const t2 = Date.now();
    await lab.restore('dc-b');
    await waitForEvent(t2, { type: 'sync_restored', service: 'payments', region: 'dc-a' }, 60_000);
    for (const s of ['login', 'payments', 'messaging'] as const) {
      await waitFor(
        `${s} dc-b standby up`,
        async () => {
          const c = (await status())[s].cells['dc-b']!;
          return c.status === 'up' && c.role === 'standby';
        },
        60_000,
        100,
      );
    }
  }, 240_000);

  it('freeze dc-a, then thaw: no write is accepted by dc-a after dc-b was promoted', async () => {
    const before = await status();
    const t0 = Date.now();
    await lab.freeze('dc-a');
    for (const s of ['login', 'payments', 'messaging'] as const) await waitForPrimary(s, 'dc-b');
    const promoted = (await eventsSince(t0)).filter((e) => e.type === 'promoted' && e.region === 'dc-b');
    expect(promoted.map((e) => e.service).sort()).toEqual(['login', 'messaging', 'payments']);
    const promotedAt = Math.max(...promoted.map((e) => Date.parse(e.at)));
    const newEpoch = (await status()).messaging.epoch;
    expect(newEpoch).toBe(before.messaging.epoch + 1);

    // A write straight at the frozen old primary carrying the new epoch: it hangs while frozen…
    const directId = crypto.randomUUID();
    const direct = request(`${cellUrl('messaging', 'dc-a')}/messaging/rooms/router-it/messages`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${users.users[0]!.token}`,
        'content-type': 'application/json',
        'x-failover-epoch': String(newEpoch),
      },
      body: JSON.stringify({ id: directId, body: 'direct to the old primary' }),
      headersTimeout: 60_000,
    });
    await sleep(300);
    await lab.thaw('dc-a');
    // …and is refused once it thaws: dc-a holds the old epoch, and the router fences it.
    const res = await direct;
    const body = (await res.body.json()) as { error?: { code: string } };
    expect(res.statusCode).toBe(503);
    expect(body.error?.code).toBe('MSG_ERR_FENCED');
    for (const s of ['login', 'payments', 'messaging'] as const) {
      await waitForEvent(t0, { type: 'fenced', service: s, region: 'dc-a' }, 30_000);
    }
    // Without any epoch header too: fenced.
    const plain = await request(`${cellUrl('messaging', 'dc-a')}/messaging/rooms/router-it/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${users.users[0]!.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: crypto.randomUUID(), body: 'plain write to the fenced old primary' }),
    });
    expect(plain.statusCode).toBe(503);
    await plain.body.dump();
    // Through the router: dc-b. The traffic client sends through a pool of 32 connections, so the
    // requests fired after the promotion queue behind those the router held during the freeze; on a
    // busy machine draining them takes a few seconds. Wait for them rather than a fixed second.
    const postedSince = (t: number) => traffic.since(t).filter((r) => r.op === 'post' && r.status < 300);
    await waitFor(
      'traffic completed after the promotion, messages posted among it',
      () => traffic.since(promotedAt + 1).length > 10 && postedSince(promotedAt + 1).length > 0,
      30_000,
      100,
    );
    const late = traffic.since(promotedAt + 1);
    expect(late.filter((r) => r.servedBy === 'dc-a')).toEqual([]);
    // Every message the router acknowledged after the promotion is absent from dc-a.
    const postedAfter = postedSince(promotedAt + 1)
      .filter((r) => r.writeId)
      .slice(0, 10);
    expect(postedAfter.length).toBeGreaterThan(0);
    for (const r of postedAfter.map((p) => p.writeId!)) {
      const onB = await request(`${cellUrl('messaging', 'dc-b')}/messaging/messages/${r}`, {
        headers: { authorization: `Bearer ${users.users[0]!.token}` },
      });
      expect(onB.statusCode, `message ${r} on dc-b`).toBe(200);
      await onB.body.dump();
    }
    for (const r of [...postedAfter.map((p) => p.writeId!), directId]) {
      const onA = await request(`${cellUrl('messaging', 'dc-a')}/messaging/messages/${r}`, {
        headers: { authorization: `Bearer ${users.users[0]!.token}` },
      });
      expect(onA.statusCode, `message ${r} on dc-a`).toBe(404);
      await onA.body.dump();
    }
    console.log(`freeze: promoted +${promotedAt - t0} ms; ${summarize(traffic.since(t0))}`);
  }, 180_000);
});
