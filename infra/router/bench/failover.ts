// Router benchmark on a real lab (its own subnet and temp state dir):
//  1. the router's added latency: GET /payments/accounts/:id at a fixed rate, through the router vs
//     straight at the primary cell, interleaved request by request (p50/p99 of each);
//  2. detection-to-routed time over repeated SIGKILLs of the payments primary's Postgres, the region
//     restored as standby in between (median and max of kill→confirmed_down, confirmed_down→routed,
//     kill→routed).
// Usage: npx tsx infra/router/bench/failover.ts [--kills 5] [--rate 25] [--seconds 10]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ControllerEvent, otherRegion, type RegionName, SERVICES } from '@failover-lab/contracts';
import { type LabClient, startLab, stopLab } from '@failover-lab/lab';
import { Agent, request } from 'undici';
import { setupUsers, Traffic } from '../test/helpers/traffic';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '5' },
    rate: { type: 'string', default: '25' },
    seconds: { type: 'string', default: '10' },
  },
});
const KILLS = Number(values.kills);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
};
const median = (xs: number[]) => quantile(xs, 0.5);
const fmt = (ms: number) => `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;

async function main() {
  const t0 = Date.now();
  const lab = await startLab();
  console.log(`lab up in ${((Date.now() - t0) / 1000).toFixed(1)} s (subnet ${lab.topo.subnet})`);
  try {
    await run(lab);
  } finally {
    const { leftovers } = await stopLab(lab, { wipe: true });
    if (leftovers.length) console.log(`leftovers killed: ${leftovers.join(', ')}`);
  }
}

async function run(lab: LabClient) {
  const token = (
    JSON.parse(readFileSync(join(lab.stateDir, 'secrets.json'), 'utf8')) as { adminToken: string }
  ).adminToken;
  const routerUrl = lab.topo.edge.routerUrl;
  const cellUrl = (service: string, region: string) =>
    lab.topo.cells.find((c) => c.service === service && c.region === region)!.appUrl;
  const admin = async <T>(path: string, method: 'GET' | 'POST' = 'GET', body?: unknown) => {
    const res = await request(`${routerUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.statusCode, body: (await res.body.json()) as T };
  };
  type Status = Record<
    string,
    {
      primary: RegionName;
      epoch: number;
      serving: boolean;
      cells: Record<string, { status: string; role: string | null }>;
    }
  >;
  const status = async () => (await admin<{ services: Status }>('/admin/status')).body.services;
  const events = async (since: number) =>
    (await admin<{ events: ControllerEvent[] }>(`/admin/events?since=${new Date(since - 1).toISOString()}`))
      .body.events;
  const waitFor = async <T>(
    what: string,
    fn: () => Promise<T | null | undefined | false>,
    timeoutMs = 120_000,
  ) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn().catch(() => null);
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
      await sleep(50);
    }
  };
  for (const s of SERVICES) {
    await waitFor(`${s} served`, async () => (await status())[s]?.serving);
  }
  const users = await setupUsers(routerUrl, cellUrl('payments', 'dc-a'), token);
  const user = users.users[0]!;

  // 1. Added latency at a fixed rate, interleaved.
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 16 });
  const direct: number[] = [];
  const routed: number[] = [];
  let errors = 0;
  const path = `/payments/accounts/${user.accountId}`;
  const fire = async (base: string, into: number[]) => {
    const started = performance.now();
    try {
      const res = await request(`${base}${path}`, {
        dispatcher: agent,
        headers: { authorization: `Bearer ${user.token}` },
      });
      await res.body.dump();
      if (res.statusCode !== 200) errors++;
      else into.push(performance.now() - started);
    } catch {
      errors++;
    }
  };
  const primaryUrl = cellUrl('payments', (await status()).payments!.primary);
  // warm both paths
  for (let i = 0; i < 50; i++) await Promise.all([fire(routerUrl, []), fire(primaryUrl, [])]);
  const pending: Promise<void>[] = [];
  const total = RATE * SECONDS * 2;
  await new Promise<void>((resolve) => {
    let n = 0;
    const timer = setInterval(
      () => {
        pending.push(n % 2 === 0 ? fire(primaryUrl, direct) : fire(routerUrl, routed));
        if (++n >= total) {
          clearInterval(timer);
          resolve();
        }
      },
      1000 / (RATE * 2),
    );
  });
  await Promise.all(pending);
  console.log(
    `\nadded latency, GET ${path.replace(user.accountId, ':id')} at ${RATE} req/s each way for ${SECONDS} s (${errors} errors):`,
  );
  console.log(
    `  direct to cell : p50 ${fmt(median(direct))}  p99 ${fmt(quantile(direct, 0.99))}  (n=${direct.length})`,
  );
  console.log(
    `  via router     : p50 ${fmt(median(routed))}  p99 ${fmt(quantile(routed, 0.99))}  (n=${routed.length})`,
  );
  console.log(
    `  added          : p50 ${fmt(median(routed) - median(direct))}  p99 ${fmt(quantile(routed, 0.99) - quantile(direct, 0.99))}`,
  );

  // 2. Repeated kills of the payments primary's Postgres under light steady traffic.
  const traffic = new Traffic(routerUrl, users, 100);
  traffic.start();
  const rows: { detect: number; decideToRouted: number; total: number; failed: number }[] = [];
  try {
    for (let k = 1; k <= KILLS; k++) {
      const before = await status();
      const from = before.payments!.primary;
      const to = otherRegion(from);
      await waitFor('payments standby in sync', async () => {
        const s = (await status()).payments!;
        return (
          s.cells[to]!.status === 'up' &&
          s.cells[to]!.role === 'standby' &&
          !(s as unknown as { rpoGuaranteeSuspended: boolean }).rpoGuaranteeSuspended
        );
      });
      const killAt = Date.now();
      await lab.kill(from, { service: 'payments', component: 'postgres' });
      const routedEv = await waitFor('routed', async () =>
        (await events(killAt)).find(
          (e) => e.type === 'routed' && e.service === 'payments' && e.region === to,
        ),
      );
      const evs = await events(killAt);
      const down = evs.find(
        (e) => e.type === 'confirmed_down' && e.service === 'payments' && e.region === from,
      )!;
      await sleep(500);
      const failed = traffic.failures(killAt).length;
      const row = {
        detect: Date.parse(down.at) - killAt,
        decideToRouted: Date.parse(routedEv.at) - Date.parse(down.at),
        total: Date.parse(routedEv.at) - killAt,
        failed,
      };
      rows.push(row);
      console.log(
        `kill ${k}: payments ${from}→${to} epoch ${routedEv.epoch}: kill→confirmed_down ${row.detect} ms, confirmed_down→routed ${row.decideToRouted} ms, kill→routed ${row.total} ms, failed requests ${failed}`,
      );
      // Move login and messaging off the region before rebuilding it, so the restore kills no primary.
      for (const s of ['login', 'messaging']) {
        if ((await status())[s]!.primary === from) {
          const r = await admin<{ ms: number }>('/admin/switchover', 'POST', { service: s, to });
          if (r.status !== 200) throw new Error(`switchover ${s}: ${JSON.stringify(r.body)}`);
        }
      }
      const restoreAt = Date.now();
      const restored = await lab.restore(from);
      console.log(`  restore ${from}: ${restored.ms} ms; waiting for payments sync to be restored`);
      await waitFor('sync restored', async () =>
        (await events(restoreAt)).find((e) => e.type === 'sync_restored' && e.service === 'payments'),
      );
    }
  } finally {
    await traffic.stop();
  }
  const col = (f: (r: (typeof rows)[number]) => number) => rows.map(f);
  console.log(`\nfailover of payments over ${rows.length} kills of its primary Postgres (probe defaults):`);
  console.log(
    `  kill → confirmed_down : median ${median(col((r) => r.detect))} ms, max ${Math.max(...col((r) => r.detect))} ms`,
  );
  console.log(
    `  confirmed_down → routed: median ${median(col((r) => r.decideToRouted))} ms, max ${Math.max(...col((r) => r.decideToRouted))} ms`,
  );
  console.log(
    `  kill → routed          : median ${median(col((r) => r.total))} ms, max ${Math.max(...col((r) => r.total))} ms`,
  );
  console.log(
    `  failed client requests (GET / idempotent writes, all services): ${rows.reduce((a, r) => a + r.failed, 0)}`,
  );
  await agent.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
