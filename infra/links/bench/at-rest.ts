// What a healthy link costs a request through the router: the same stand-in cell reached by one
// router directly and by another through a link proxy (the links process, spawned as the lab runs
// it), GET /payments/echo interleaved at a fixed rate; several runs, the median of the per-run p50
// differences, and the CPU the proxy process spent per request. The bound: at most 0.2 ms at p50.
// `--proxy haproxy` puts HAProxy (mode tcp, the Debian package the peers bench installs) in the links
// process's place: the cost of one more user-space hop on this machine with a proxy written in C.
// Usage: npm run bench -- links [--runs 5] [--rate 100] [--seconds 5] [--proxy links|haproxy]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect as netConnect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LinksConfigFile } from '@failover-lab/contracts';
import { Agent, request } from 'undici';
import { parseRouterConfig } from '../../router/src/config';
import { buildRouter } from '../../router/src/router';
import { startFakeCell } from '../../router/test/helpers/fake-cell';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '5' },
    proxy: { type: 'string', default: 'links' },
  },
});
if (values.proxy !== 'links' && values.proxy !== 'haproxy') {
  console.error("--proxy is links (the lab's link proxy) or haproxy (the floor)");
  process.exit(2);
}
const RUNS = Number(values.runs);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const TOKEN = 'bench-admin-token-0123456789';
const LINKS_TOKEN = 'bench-links-token-0123456789';
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const subnet = 100 + Math.floor(Math.random() * 151);
const dir = mkdtempSync(join(tmpdir(), 'links-bench-'));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const cellHost = `127.${subnet}.1.2`;
const linkHost = `127.${subnet}.11.2`;
const a = await startFakeCell(cellHost, 'dc-a', { role: 'primary', epoch: 0 }, TOKEN);
const b = await startFakeCell(`127.${subnet}.2.2`, 'dc-b', { role: 'standby', epoch: 0 }, TOKEN);
const cellPort = Number(new URL(a.url).port);

const linksConfig: LinksConfigFile = {
  control: { host: `127.${subnet}.0.2`, port: 7071 },
  stateFile: join(dir, 'links-state.json'),
  links: [
    {
      from: 'edge',
      to: 'dc-a',
      service: 'payments',
      host: linkHost,
      source: linkHost,
      ports: [{ name: 'app', listen: cellPort, target: { host: cellHost, port: cellPort } }],
    },
  ],
};
writeFileSync(join(dir, 'links.json'), JSON.stringify(linksConfig));
writeFileSync(
  join(dir, 'haproxy.cfg'),
  [
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    'listen link',
    `  bind ${linkHost}:${cellPort}`,
    `  server cell ${cellHost}:${cellPort} source ${linkHost}`,
    '',
  ].join('\n'),
);
const links: ChildProcess =
  values.proxy === 'haproxy'
    ? spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(process.execPath, ['--import', 'tsx', join(REPO, 'infra/links/src/server.ts')], {
        cwd: join(REPO, 'infra/links'),
        env: { ...process.env, LINKS_CONFIG: join(dir, 'links.json'), LINKS_TOKEN },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
if (values.proxy === 'haproxy') {
  // HAProxy prints nothing when it is up: wait for its listener instead
  const until = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((r) => {
      const s = netConnect({ host: linkHost, port: cellPort }, () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (up) break;
    if (Date.now() > until || links.exitCode !== null) throw new Error('haproxy did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
} else {
  await new Promise<void>((resolveStarted, reject) => {
    links.stdout!.once('data', () => resolveStarted());
    links.once('exit', (code) => reject(new Error(`links exited (${code})`)));
  });
}
/** CPU the proxy process has used, in ms (utime + stime from /proc, clock ticks of 10 ms) */
const proxyCpuMs = () => {
  const stat = readFileSync(`/proc/${links.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

async function startRouter(name: string, cellUrl: string) {
  const config = parseRouterConfig(
    {
      listen: { host: `127.${subnet}.0.${name === 'direct' ? 3 : 4}`, port: 0 },
      stateFile: join(dir, `router-${name}.json`),
      services: { payments: { mode: 'async', cells: { 'dc-a': cellUrl, 'dc-b': b.url } } },
    },
    { ADMIN_TOKEN: TOKEN },
  );
  const router = await buildRouter(config, { logger: false });
  await router.listen({ host: config.listen.host, port: 0 });
  while (!router.router.routes.get('payments')?.serving) await new Promise((r) => setTimeout(r, 20));
  return { router, url: `http://${config.listen.host}:${(router.server.address() as AddressInfo).port}` };
}
const direct = await startRouter('direct', a.url);
const viaLink = await startRouter('link', `http://${linkHost}:${cellPort}`);

const agent = new Agent({ connections: 16 });
type Kind = 'direct' | 'link';
const urls: Record<Kind, string> = { direct: direct.url, link: viaLink.url };
const q = (xs: number[], p: number) =>
  [...xs].sort((x, y) => x - y)[Math.max(0, Math.ceil(p * xs.length) - 1)]!;

async function run(): Promise<Record<Kind, number[]>> {
  const latency: Record<Kind, number[]> = { direct: [], link: [] };
  const fire = async (kind: Kind) => {
    const started = performance.now();
    const res = await request(`${urls[kind]}/payments/echo`, { dispatcher: agent });
    await res.body.dump();
    latency[kind].push(performance.now() - started);
  };
  const pending: Promise<void>[] = [];
  await new Promise<void>((done) => {
    let n = 0;
    const timer = setInterval(
      () => {
        pending.push(fire(n % 2 === 0 ? 'direct' : 'link'));
        if (++n >= RATE * SECONDS * 2) {
          clearInterval(timer);
          done();
        }
      },
      1000 / (RATE * 2),
    );
  });
  await Promise.all(pending);
  return latency;
}

console.log(
  `links at rest: GET /payments/echo through a router, direct vs through ${values.proxy === 'haproxy' ? "HAProxy (mode tcp) in the link proxy's place" : 'a link proxy'}; ${RUNS} runs of ${SECONDS} s at ${RATE} req/s each way`,
);
console.log(`load average before: ${load()}`);
await run(); // warm-up: connections, JIT
const added: number[] = [];
const cpu: number[] = [];
for (let i = 1; i <= RUNS; i++) {
  const cpuBefore = proxyCpuMs();
  const latency = await run();
  const cpuPerRequest = (proxyCpuMs() - cpuBefore) / latency.link.length;
  cpu.push(cpuPerRequest);
  const delta = q(latency.link, 0.5) - q(latency.direct, 0.5);
  added.push(delta);
  console.log(
    `  run ${i}: p50 direct ${q(latency.direct, 0.5).toFixed(3)} ms, link ${q(latency.link, 0.5).toFixed(3)} ms, added ${delta.toFixed(3)} ms; ` +
      `p99 direct ${q(latency.direct, 0.99).toFixed(2)} ms, link ${q(latency.link, 0.99).toFixed(2)} ms; ` +
      `proxy CPU ${cpuPerRequest.toFixed(3)} ms/request  (load ${load()})`,
  );
}
const median = q(added, 0.5);
console.log(
  `added at p50, median of ${RUNS} runs: ${median.toFixed(3)} ms (bound 0.2 ms: ${median <= 0.2 ? 'within' : 'OVER'}); ` +
    `proxy CPU ${q(cpu, 0.5).toFixed(3)} ms/request`,
);
console.log(`load average after: ${load()}`);

await direct.router.close();
await viaLink.router.close();
await agent.close();
await a.close();
await b.close();
links.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });
