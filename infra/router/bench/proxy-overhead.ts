// The router's own added latency, without the lab: a cell stand-in (fastify, small JSON) behind the
// router in this process, GET through the router vs straight at the stand-in, interleaved at a fixed
// rate. Separates the proxy's cost from the cells' and the machine's (see failover.ts for the real lab).
// Usage: npx tsx infra/router/bench/proxy-overhead.ts [--rate 200] [--seconds 10]
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { parseRouterConfig } from '../src/config';
import { buildRouter } from '../src/router';
import { startFakeCell } from '../test/helpers/fake-cell';

const { values } = parseArgs({
  options: { rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '10' } },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const TOKEN = 'bench-admin-token-0123456789';
const subnet = 100 + Math.floor(Math.random() * 151);
const dir = mkdtempSync(join(tmpdir(), 'router-bench-'));

const a = await startFakeCell(`127.${subnet}.1.2`, 'dc-a', { role: 'primary', epoch: 0 }, TOKEN);
const b = await startFakeCell(`127.${subnet}.2.2`, 'dc-b', { role: 'standby', epoch: 0 }, TOKEN);
const config = parseRouterConfig(
  {
    listen: { host: `127.${subnet}.0.1`, port: 0 },
    stateFile: join(dir, 'router-state.json'),
    services: { payments: { mode: 'async', cells: { 'dc-a': a.url, 'dc-b': b.url } } },
  },
  { ADMIN_TOKEN: TOKEN },
);
const router = await buildRouter(config, { logger: false });
await router.listen({ host: config.listen.host, port: 0 });
const routerUrl = `http://${config.listen.host}:${(router.server.address() as AddressInfo).port}`;
while (!router.router.routes.get('payments')?.serving) await new Promise((r) => setTimeout(r, 20));

const agent = new Agent({ connections: 16 });
const latency: Record<'direct' | 'router', number[]> = { direct: [], router: [] };
const fire = async (kind: 'direct' | 'router') => {
  const started = performance.now();
  const res = await request(`${kind === 'direct' ? a.url : routerUrl}/payments/echo`, { dispatcher: agent });
  await res.body.dump();
  latency[kind].push(performance.now() - started);
};
for (let i = 0; i < 200; i++) await Promise.all([fire('direct'), fire('router')]); // warm-up
latency.direct = [];
latency.router = [];
const pending: Promise<void>[] = [];
await new Promise<void>((resolve) => {
  let n = 0;
  const timer = setInterval(
    () => {
      pending.push(fire(n % 2 === 0 ? 'direct' : 'router'));
      if (++n >= RATE * SECONDS * 2) {
        clearInterval(timer);
        resolve();
      }
    },
    1000 / (RATE * 2),
  );
});
await Promise.all(pending);
const q = (xs: number[], p: number) =>
  [...xs].sort((x, y) => x - y)[Math.max(0, Math.ceil(p * xs.length) - 1)]!;
console.log(`GET /payments/echo on a stand-in cell, ${RATE} req/s each way for ${SECONDS} s:`);
for (const kind of ['direct', 'router'] as const) {
  console.log(
    `  ${kind.padEnd(6)}: p50 ${q(latency[kind], 0.5).toFixed(2)} ms  p99 ${q(latency[kind], 0.99).toFixed(2)} ms  (n=${latency[kind].length})`,
  );
}
console.log(
  `  added : p50 ${(q(latency.router, 0.5) - q(latency.direct, 0.5)).toFixed(2)} ms  p99 ${(q(latency.router, 0.99) - q(latency.direct, 0.99)).toFixed(2)} ms`,
);
await router.close();
await a.close();
await b.close();
await agent.close();
rmSync(dir, { recursive: true, force: true });
