// The router's own added latency, without the lab: a cell stand-in (fastify, small JSON) in this
// process, the router in a process of its own (as the lab runs it: its current esbuild bundle), and GETs
// through the router vs straight at the stand-in, interleaved at a fixed open-model rate. Several runs;
// prints each run's p50/p99 both ways and the added latency with the load average, then the medians.
// Separates the proxy's cost from the cells' and the machine's (see failover.ts for the real lab).
// Usage: npm run bench -- router [--rate 200] [--seconds 10] [--runs 5]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { ensureBundles, nodeArgsFor } from '../../lab/src/bundles';
import { startFakeCell } from '../test/helpers/fake-cell';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '5' },
  },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);
const TOKEN = 'bench-admin-token-0123456789';
const ENTRY = resolve(fileURLToPath(import.meta.url), '../../src/server.ts');
const loadAverage1m = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const subnet = 100 + Math.floor(Math.random() * 151);
const dir = mkdtempSync(join(tmpdir(), 'router-bench-'));

const a = await startFakeCell(`127.${subnet}.1.2`, 'dc-a', { role: 'primary', epoch: 0 }, TOKEN);
const b = await startFakeCell(`127.${subnet}.2.2`, 'dc-b', { role: 'standby', epoch: 0 }, TOKEN);
const host = `127.${subnet}.0.1`;
const port = 18_000 + Math.floor(Math.random() * 2_000);
const configFile = join(dir, 'router.json');
writeFileSync(
  configFile,
  JSON.stringify({
    listen: { host, port },
    stateFile: join(dir, 'router-state.json'),
    services: { payments: { mode: 'async', cells: { 'dc-a': a.url, 'dc-b': b.url } } },
    probe: { startupGraceMs: 0 },
  }),
);
ensureBundles([ENTRY]);
const router = spawn(process.execPath, nodeArgsFor(ENTRY), {
  env: { ...process.env, ROUTER_CONFIG: configFile, ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const routerUrl = `http://${host}:${port}`;
const agent = new Agent({ connections: 16 });
try {
  const until = Date.now() + 60_000;
  for (;;) {
    const ready = await request(`${routerUrl}/health/ready`, { dispatcher: agent })
      .then(async (res) => {
        await res.body.dump();
        return res.statusCode === 200;
      })
      .catch(() => false);
    if (ready) break;
    if (Date.now() > until || router.exitCode !== null) throw new Error('the router did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }

  const fire = async (kind: 'direct' | 'router', into: Record<'direct' | 'router', number[]>) => {
    const started = performance.now();
    const res = await request(`${kind === 'direct' ? a.url : routerUrl}/payments/echo`, {
      dispatcher: agent,
    });
    await res.body.dump();
    into[kind].push(performance.now() - started);
  };
  const scratch = { direct: [] as number[], router: [] as number[] };
  for (let i = 0; i < 300; i++) await Promise.all([fire('direct', scratch), fire('router', scratch)]); // warm-up

  const q = (xs: number[], p: number) =>
    [...xs].sort((x, y) => x - y)[Math.max(0, Math.ceil(p * xs.length) - 1)]!;
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)]!;
  const added = { p50: [] as number[], p99: [] as number[] };
  console.log(
    `GET /payments/echo on a stand-in cell, ${RATE} req/s each way (interleaved) for ${SECONDS} s, ${RUNS} runs:`,
  );
  for (let run = 1; run <= RUNS; run++) {
    const latency = { direct: [] as number[], router: [] as number[] };
    const load = loadAverage1m();
    const pending: Promise<void>[] = [];
    await new Promise<void>((done) => {
      let n = 0;
      const timer = setInterval(
        () => {
          pending.push(fire(n % 2 === 0 ? 'direct' : 'router', latency));
          if (++n >= RATE * SECONDS * 2) {
            clearInterval(timer);
            done();
          }
        },
        1000 / (RATE * 2),
      );
    });
    await Promise.all(pending);
    const p50 = q(latency.router, 0.5) - q(latency.direct, 0.5);
    const p99 = q(latency.router, 0.99) - q(latency.direct, 0.99);
    added.p50.push(p50);
    added.p99.push(p99);
    console.log(
      `  run ${run} (load ${load.toFixed(1)}): direct p50 ${q(latency.direct, 0.5).toFixed(2)} p99 ${q(latency.direct, 0.99).toFixed(2)} ms, ` +
        `router p50 ${q(latency.router, 0.5).toFixed(2)} p99 ${q(latency.router, 0.99).toFixed(2)} ms → ` +
        `added p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (n=${latency.router.length} each)`,
    );
  }
  console.log(
    `  median of ${RUNS}: added p50 ${median(added.p50).toFixed(2)} ms, p99 ${median(added.p99).toFixed(2)} ms`,
  );
} finally {
  router.kill('SIGTERM');
  await new Promise((r) => (router.exitCode !== null ? r(null) : router.once('exit', r)));
  await a.close();
  await b.close();
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
}
