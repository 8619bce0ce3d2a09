// What a healthy link costs a request through the router: the same stand-in cell reached by one
// router directly, by one through a link at rest as the lab runs it (the links process with its
// kernel path: iptables nat forwards the link while it has no fault) and by one through the proxy
// path (a second links process without the kernel path: what a link carries while it has a fault,
// or on a machine without root/iptables). GET /payments/echo interleaved at a fixed rate; several
// runs, the median of the per-run p50 differences, and the CPU the proxy process spent per request.
// The bound for a link at rest: at most 0.2 ms at p50.
// `--proxy haproxy` puts HAProxy (mode tcp, the Debian package the peers bench installs) in the proxy
// path's place: the cost of one more user-space hop on this machine with a proxy written in C.
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
/** the link at rest, kernel path on */
const kernelHost = `127.${subnet}.11.2`;
/** the proxy path */
const linkHost = `127.${subnet}.12.2`;
const CHAIN = `FLAB-B${subnet}`;
const a = await startFakeCell(cellHost, 'dc-a', { role: 'primary', epoch: 0 }, TOKEN);
const b = await startFakeCell(`127.${subnet}.2.2`, 'dc-b', { role: 'standby', epoch: 0 }, TOKEN);
const cellPort = Number(new URL(a.url).port);

const linksConfig = (host: string, kernel: boolean): LinksConfigFile => ({
  control: { host: `127.${subnet}.0.${kernel ? 5 : 2}`, port: 7071 },
  stateFile: join(dir, `links-state-${kernel ? 'kernel' : 'proxy'}.json`),
  links: [
    {
      from: 'edge',
      to: 'dc-a',
      service: 'payments',
      host,
      source: host,
      ports: [{ name: 'app', listen: cellPort, target: { host: cellHost, port: cellPort } }],
    },
  ],
  ...(kernel ? { kernel: { chain: CHAIN } } : {}),
});
writeFileSync(join(dir, 'links.json'), JSON.stringify(linksConfig(linkHost, false)));
writeFileSync(join(dir, 'links-kernel.json'), JSON.stringify(linksConfig(kernelHost, true)));
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
const spawnLinks = (config: string) =>
  spawn(process.execPath, ['--import', 'tsx', join(REPO, 'infra/links/src/server.ts')], {
    cwd: join(REPO, 'infra/links'),
    env: { ...process.env, LINKS_CONFIG: join(dir, config), LINKS_TOKEN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
/** the started line (after any line on why the kernel path is off) */
const started = (child: ChildProcess) =>
  new Promise<string>((resolveStarted, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('control on'));
      if (line) resolveStarted(line);
    });
    child.once('exit', (code) => reject(new Error(`links exited (${code})`)));
  });
const kernelLinks = spawnLinks('links-kernel.json');
const kernelStarted = started(kernelLinks);
const links: ChildProcess =
  values.proxy === 'haproxy'
    ? spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawnLinks('links.json');
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
  await started(links);
}
const kernelLine = await kernelStarted;
const kernelPath = kernelLine.includes('kernel-forwarded');
/** CPU a proxy process has used, in ms (utime + stime from /proc, clock ticks of 10 ms) */
const cpuMs = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
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
const viaKernel = await startRouter('kernel', `http://${kernelHost}:${cellPort}`);

const agent = new Agent({ connections: 16 });
type Kind = 'direct' | 'link' | 'kernel';
const KINDS: Kind[] = ['direct', 'kernel', 'link'];
const urls: Record<Kind, string> = { direct: direct.url, link: viaLink.url, kernel: viaKernel.url };
const q = (xs: number[], p: number) =>
  [...xs].sort((x, y) => x - y)[Math.max(0, Math.ceil(p * xs.length) - 1)]!;

async function run(): Promise<Record<Kind, number[]>> {
  const latency: Record<Kind, number[]> = { direct: [], link: [], kernel: [] };
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
        pending.push(fire(KINDS[n % KINDS.length]!));
        if (++n >= RATE * SECONDS * KINDS.length) {
          clearInterval(timer);
          done();
        }
      },
      1000 / (RATE * KINDS.length),
    );
  });
  await Promise.all(pending);
  return latency;
}

const proxyName = values.proxy === 'haproxy' ? 'HAProxy (mode tcp)' : 'the link proxy';
console.log(
  `links at rest: GET /payments/echo through a router: direct, through a link at rest (${kernelPath ? 'kernel-forwarded: iptables nat' : 'NO kernel path on this machine, so the proxy'}) and through ${proxyName} (the path of a link with a fault); ${RUNS} runs of ${SECONDS} s at ${RATE} req/s each way`,
);
if (!kernelPath) console.log(`  kernel path off: ${kernelLine.trim()}`);
console.log(`load average before: ${load()}`);
await run(); // warm-up: connections, JIT
const added: Record<'kernel' | 'link', number[]> = { kernel: [], link: [] };
const cpu: number[] = [];
const kernelCpu: number[] = [];
for (let i = 1; i <= RUNS; i++) {
  const cpuBefore = cpuMs(links.pid!);
  const kernelCpuBefore = cpuMs(kernelLinks.pid!);
  const latency = await run();
  cpu.push((cpuMs(links.pid!) - cpuBefore) / latency.link.length);
  kernelCpu.push((cpuMs(kernelLinks.pid!) - kernelCpuBefore) / latency.kernel.length);
  const p50 = (k: Kind) => q(latency[k], 0.5);
  added.kernel.push(p50('kernel') - p50('direct'));
  added.link.push(p50('link') - p50('direct'));
  console.log(
    `  run ${i}: p50 direct ${p50('direct').toFixed(3)} ms, at rest ${p50('kernel').toFixed(3)} ms (added ${added.kernel.at(-1)!.toFixed(3)}), ` +
      `proxy ${p50('link').toFixed(3)} ms (added ${added.link.at(-1)!.toFixed(3)}); ` +
      `p99 direct ${q(latency.direct, 0.99).toFixed(2)}, at rest ${q(latency.kernel, 0.99).toFixed(2)}, proxy ${q(latency.link, 0.99).toFixed(2)} ms; ` +
      `proxy CPU ${cpu.at(-1)!.toFixed(3)} ms/request, links process at rest ${kernelCpu.at(-1)!.toFixed(3)}  (load ${load()})`,
  );
}
const atRest = q(added.kernel, 0.5);
console.log(
  `link at rest (${kernelPath ? 'kernel path' : 'proxy: no kernel path here'}): added at p50, median of ${RUNS} runs: ${atRest.toFixed(3)} ms ` +
    `(bound 0.2 ms: ${atRest <= 0.2 ? 'within' : 'OVER'}); links process CPU ${q(kernelCpu, 0.5).toFixed(3)} ms/request`,
);
console.log(
  `through ${proxyName} (a link with a fault): added at p50, median of ${RUNS} runs: ${q(added.link, 0.5).toFixed(3)} ms; ` +
    `proxy CPU ${q(cpu, 0.5).toFixed(3)} ms/request`,
);
console.log(`load average after: ${load()}`);

await viaKernel.router.close();
await direct.router.close();
await viaLink.router.close();
await agent.close();
await a.close();
await b.close();
links.kill('SIGTERM');
// the kernel path's rules go with its process (it removes them on SIGTERM)
kernelLinks.kill('SIGTERM');
await new Promise((r) => kernelLinks.once('exit', r));
rmSync(dir, { recursive: true, force: true });
