// The router's own added latency, without the lab: a cell stand-in (fastify, small JSON) in this
// process, the router in a process of its own (as the lab runs it: its current esbuild bundle), and GETs
// through the router vs straight at the stand-in, interleaved at a fixed open-model rate. Several runs;
// prints each run's p50/p99 both ways and the added latency with the load average, then the medians.
// Separates the proxy's cost from the cells' and the machine's (see failover.ts for the real lab).
// Usage: npm run bench -- router [--rate 200] [--seconds 10] [--runs 5] [--in-process] [--cpu-prof DIR] [--bare]
// --cpu-prof writes the router process's V8 CPU profile into DIR (`npx tsx bench/cpu-profile.ts FILE`
// prints its self time by function).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { ensureBundles, nodeArgsFor } from '../../lab/src/bundles';
import { parseRouterConfig } from '../src/config';
import { buildRouter } from '../src/router';
import { startFakeCell } from '../test/helpers/fake-cell';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '5' },
    /** the router in this process, as the first version of this bench ran it: no scheduler hop */
    'in-process': { type: 'boolean', default: false },
    /** a directory: the router process writes its V8 CPU profile there when it exits */
    'cpu-prof': { type: 'string' },
    /** instead of the router, bare-proxy.ts: node:http + an undici Pool, the floor on this machine */
    bare: { type: 'boolean', default: false },
  },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);
const TOKEN = 'bench-admin-token-0123456789';
const ENTRY = resolve(fileURLToPath(import.meta.url), '../../src/server.ts');
const loadAverage1m = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
/**
 * CPU the router process has used, in ms (utime + stime from /proc, in clock ticks of 10 ms): what a
 * proxied request costs whatever else the machine runs, unlike its latency, which on a loaded 2-core
 * machine is mostly the wait for the router's process to be scheduled.
 */
const cpuMsOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
};
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
/** the router under test: its URL, its process (null: this one), how to stop it */
async function startRouter(): Promise<{ url: string; pid: number | null; stop: () => Promise<void> }> {
  if (values['in-process']) {
    const config = parseRouterConfig(JSON.parse(readFileSync(configFile, 'utf8')), { ADMIN_TOKEN: TOKEN });
    const app = await buildRouter(config, { logger: false });
    await app.listen({ host, port });
    return { url: `http://${host}:${port}`, pid: null, stop: () => app.close() };
  }
  const bare = values.bare
    ? ['--import', 'tsx', resolve(fileURLToPath(import.meta.url), '../bare-proxy.ts')]
    : null;
  if (!bare) ensureBundles([ENTRY]);
  const profile = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${resolve(values['cpu-prof'])}`] : [];
  const child = spawn(process.execPath, [...profile, ...(bare ?? nodeArgsFor(ENTRY))], {
    env: {
      ...process.env,
      ROUTER_CONFIG: configFile,
      ADMIN_TOKEN: TOKEN,
      LOG_LEVEL: 'warn',
      BARE_LISTEN: `${host}:${port}`,
      BARE_TARGET: a.url,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return {
    url: `http://${host}:${port}`,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    },
  };
}
const router = await startRouter();
const routerUrl = router.url;
const agent = new Agent({ connections: 16 });
try {
  const until = Date.now() + 60_000;
  for (;;) {
    const ready = await request(`${routerUrl}/${values.bare ? 'payments/echo' : 'health/ready'}`, {
      dispatcher: agent,
    })
      .then(async (res) => {
        await res.body.dump();
        return res.statusCode === 200;
      })
      .catch(() => false);
    if (ready) break;
    if (Date.now() > until) throw new Error('the router did not become ready');
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
  const cpuText = (ms: number, system: number) =>
    Number.isNaN(ms)
      ? 'not measured (same process)'
      : `${ms.toFixed(3)} ms/request (${system.toFixed(3)} of it in the kernel)`;
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)]!;
  const added = { p50: [] as number[], p99: [] as number[], cpu: [] as number[], system: [] as number[] };
  console.log(
    `GET /payments/echo on a stand-in cell, ${RATE} req/s each way (interleaved) for ${SECONDS} s, ${RUNS} runs, ` +
      `${values.bare ? 'bare node:http + undici proxy (the floor), not the router' : `router ${values['in-process'] ? 'in this process' : 'in its own process'}`}:`,
  );
  for (let run = 1; run <= RUNS; run++) {
    const latency = { direct: [] as number[], router: [] as number[] };
    const load = loadAverage1m();
    const cpuBefore = router.pid === null ? null : cpuMsOf(router.pid);
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
    // includes its probes of the two stand-ins (every 200 ms), a small share at this rate
    const cpuAfter = router.pid === null ? null : cpuMsOf(router.pid);
    const perRequest = (k: 'user' | 'system') =>
      cpuBefore && cpuAfter ? (cpuAfter[k] - cpuBefore[k]) / latency.router.length : Number.NaN;
    const cpuPerRequest = perRequest('user') + perRequest('system');
    added.cpu.push(cpuPerRequest);
    added.system.push(perRequest('system'));
    const p50 = q(latency.router, 0.5) - q(latency.direct, 0.5);
    const p99 = q(latency.router, 0.99) - q(latency.direct, 0.99);
    added.p50.push(p50);
    added.p99.push(p99);
    console.log(
      `  run ${run} (load ${load.toFixed(1)}): direct p50 ${q(latency.direct, 0.5).toFixed(2)} p99 ${q(latency.direct, 0.99).toFixed(2)} ms, ` +
        `router p50 ${q(latency.router, 0.5).toFixed(2)} p99 ${q(latency.router, 0.99).toFixed(2)} ms → ` +
        `added p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms; router CPU ${cpuText(cpuPerRequest, perRequest('system'))} ` +
        `(n=${latency.router.length} each)`,
    );
  }
  console.log(
    `  median of ${RUNS}: added p50 ${median(added.p50).toFixed(2)} ms, p99 ${median(added.p99).toFixed(2)} ms, ` +
      `router CPU ${cpuText(median(added.cpu), median(added.system))}`,
  );
} finally {
  await router.stop();
  await a.close();
  await b.close();
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
}
