// `npm run bench -- <name> [options]`: every benchmark behind one script. Each one is a module that
// runs when imported and reads its own options from process.argv.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const BENCHES: Record<string, { file: string; about: string }> = {
  peers: {
    file: 'bench/peers/src/main.ts',
    about: 'the same primary kill on this project, Patroni + etcd + HAProxy and Redis Sentinel',
  },
  recovery: {
    file: 'bench/recovery/src/main.ts',
    about: 'N region-kill and db-kill drills on fresh labs: stall, fault → routed, failures, median/worst',
  },
  router: {
    file: 'infra/router/bench/proxy-overhead.ts',
    about: "the router's added latency vs calling a cell directly (--rate 200 --seconds 10 --runs 5)",
  },
  links: {
    file: 'infra/links/bench/at-rest.ts',
    about: 'what a healthy link proxy adds at p50 to a request through the router (bound 0.2 ms)',
  },
  lab: {
    file: 'infra/lab/bench/start.ts',
    about: 'lab cold and warm start times (also `npm run bench:lab`)',
  },
};

const [name, ...rest] = process.argv.slice(2);
const bench = name === undefined ? undefined : BENCHES[name];
if (!bench) {
  const list = Object.entries(BENCHES)
    .map(([n, b]) => `  ${n.padEnd(8)} ${b.about}`)
    .join('\n');
  console.error(
    `${name ? `unknown benchmark "${name}"` : 'which benchmark?'}\nusage: npm run bench -- <name> [options]\n${list}`,
  );
  process.exit(2);
}
const file = join(REPO_ROOT, bench.file);
process.argv = [process.argv[0]!, file, ...rest];
await import(pathToFileURL(file).href);
