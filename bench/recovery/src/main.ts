// `npm run bench -- recovery`: N drills per scenario (region-kill and db-kill by default), each on a
// fresh lab started by the drill itself (the cold start counts in its wall time), printing every run
// and the median and worst of the longest stall, fault → routed, failed requests and lost payments,
// with the load average at each run. Writes recovery.md (the table) and runs.json beside the reports.
// Drills run one after another: on a 2-core machine two labs at once measure each other.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DrillReport } from '@failover-lab/contracts';
import { leaseSubnet } from '@failover-lab/lab/testing';
import { figuresOf, markdownTable, type RunFigures, runLine } from './figures';
import { parseOptions, USAGE } from './options';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const loadAverage1m = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

const parsed = parseOptions(process.argv.slice(2));
if ('error' in parsed) {
  console.error(`${parsed.error}\n${USAGE}`);
  process.exit(2);
}
if (parsed.help) {
  console.log(USAGE);
  process.exit(0);
}
const { options } = parsed;
const started = new Date();
const out = resolve(
  options.out ??
    join(REPO_ROOT, 'drill-out', `bench-recovery-${started.toISOString().replace(/[:.]/g, '-')}`),
);
mkdirSync(out, { recursive: true });
const lease = options.subnet === undefined ? await leaseSubnet() : undefined;
const subnet = options.subnet ?? lease!.subnet;

// The drill as `npm run drill` runs it: its bundle, made (or found up to date) once here. Under tsx every
// drill would first compile the CLI again, ~1–2 s of its wall time that no user waits for.
const DRILL_BUNDLE = join(REPO_ROOT, 'infra/drill/src/cli.bundle.mjs');
execFileSync(
  process.execPath,
  [
    join(REPO_ROOT, 'infra/compose/node/bundle.mjs'),
    '--stale-only',
    join(REPO_ROOT, 'infra/drill/src/cli.ts'),
  ],
  { stdio: 'inherit' },
);

/** One drill on a lab of its own (a fresh state dir: the drill starts the lab and stops it after). */
async function drill(scenario: string, run: number): Promise<RunFigures | { error: string }> {
  const dir = join(out, `${scenario}-${run}`);
  const stateDir = join(tmpdir(), `flab-recovery-${process.pid}-${scenario}-${run}`);
  rmSync(stateDir, { recursive: true, force: true });
  const loadStart = loadAverage1m();
  const t0 = Date.now();
  let injectMs: number | null = null;
  const code = await new Promise<number>((done) => {
    const child = spawn(process.execPath, ['--enable-source-maps', DRILL_BUNDLE, scenario, '--out', dir], {
      cwd: REPO_ROOT,
      env: { ...process.env, LAB_SUBNET: String(subnet), LAB_STATE_DIR: stateDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => log.push(c));
    child.stderr.on('data', (c: Buffer) => log.push(c));
    child.on('close', (exit) => {
      mkdirSync(dir, { recursive: true });
      const text = Buffer.concat(log).toString('utf8');
      writeFileSync(join(dir, 'drill.log'), text);
      const took = /injected \(took (\d+) ms\)/.exec(text);
      if (took) injectMs = Number(took[1]);
      done(exit ?? 1);
    });
  });
  const wallMs = Date.now() - t0;
  const loadEnd = loadAverage1m();
  let report: DrillReport;
  try {
    report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as DrillReport;
  } catch {
    return { error: `${scenario} #${run}: no report (drill exit ${code}; see ${join(dir, 'drill.log')})` };
  }
  // A failed run keeps its lab's logs (the router's and every app's) for a post-mortem; so does every
  // run with BENCH_KEEP_LABS=1 (to read where a passing run's time went).
  if (report.verdict === 'pass' && process.env.BENCH_KEEP_LABS !== '1')
    rmSync(stateDir, { recursive: true, force: true });
  else console.log(`  (lab logs kept in ${stateDir})`);
  return figuresOf(report, run, { start: loadStart, end: loadEnd }, wallMs, injectMs);
}

const runs: RunFigures[] = [];
const errors: string[] = [];
console.log(
  `recovery benchmark: ${options.runs} run(s) of ${options.scenarios.join(', ')}, subnet ${subnet}, out ${out}`,
);
try {
  for (let run = 1; run <= options.runs; run++) {
    for (const scenario of options.scenarios) {
      const result = await drill(scenario, run);
      if ('error' in result) {
        errors.push(result.error);
        console.log(result.error);
        continue;
      }
      runs.push(result);
      console.log(runLine(result));
      // written after every run, so an interrupted benchmark still leaves its table
      writeFileSync(join(out, 'runs.json'), `${JSON.stringify(runs, null, 2)}\n`);
      writeFileSync(join(out, 'recovery.md'), markdownTable(runs, started));
    }
  }
} finally {
  lease?.release();
}
console.log(`\n${markdownTable(runs, started)}`);
if (errors.length > 0) console.log(`runs without a report:\n${errors.join('\n')}`);
console.log(`table: ${join(out, 'recovery.md')}`);
