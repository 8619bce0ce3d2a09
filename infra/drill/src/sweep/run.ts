// `npm run drill -- sweep`: for each probe setting of the grid, one lab whose router runs with it
// (LAB_ROUTER_PROBE), and per run two ordinary drills: region-freeze (a stall: how fast is it
// detected) and latency-spikes with the CPU stressed by stress-ng (nothing lost: every failover is a
// false one). Writes sweep.json (the contract's SweepReport), sweep.md and sweep.svg; each drill's own
// report stays in its folder. A command people run, not part of CI: 8 points × 3 runs is long.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type DrillReport,
  SERVICES,
  type SweepPoint,
  type SweepReport,
  type SweepRun,
} from '@failover-lab/contracts';
import type { StartArm } from '../comparisons/arm-lab';
import { load1m } from '../comparisons/arm-lab';
import { ms } from '../report/format';
import { type DrillHooks, type DrillOptions, runDrill } from '../run';
import { SCENARIOS } from '../scenarios';
import {
  describeKnobs,
  markFrontier,
  renderSweepMarkdown,
  renderSweepTable,
  summarizePoint,
  sweepGrid,
} from './analysis';
import { renderSweepSvg } from './plot';

/** Each episode's load: a short warm-up, then long enough for the slowest setting and every spike. */
export const SWEEP_WARMUP_MS = 4_000;
export const SWEEP_DURATION_MS = 16_000;

export interface SweepOptions {
  drill: DrillOptions;
  points: number;
  runs: number;
  /** stress-ng CPU workers during each no-fault episode (0: none) */
  stressCpus: number;
}

export async function runSweep(
  options: SweepOptions,
  startArm: StartArm,
  hooks: DrillHooks = {},
): Promise<SweepReport> {
  const log = hooks.log ?? (() => {});
  const startedAtMs = Date.now();
  const outDir = options.drill.outDir;
  await mkdir(outDir, { recursive: true });
  const grid = sweepGrid(options.points);
  const episode = (scenario: DrillOptions['scenario'], dir: string): DrillOptions => ({
    ...options.drill,
    scenario,
    warmupMs: SWEEP_WARMUP_MS,
    durationMs: SWEEP_DURATION_MS,
    outDir: path.join(outDir, dir),
    // the next run starts from steady state in the same lab
    resetAfter: true,
  });
  const points: SweepPoint[] = [];
  for (const [i, knobs] of grid.entries()) {
    log(`point ${i + 1}/${grid.length}: interval/timeout/fall ${describeKnobs(knobs)}`);
    const runs: SweepRun[] = [];
    let lab: Awaited<ReturnType<StartArm>>;
    try {
      lab = await startArm({ controlPlane: 'edge', probe: knobs });
    } catch (err) {
      const error = `the lab did not come up: ${(err as Error).message}`;
      log(`  ${error}`);
      points.push(summarizePoint(knobs, [unfinishedRun(error, { stall: '', noFault: '' }, load1m())]));
      continue;
    }
    try {
      for (let run = 1; run <= options.runs; run++) {
        const dir = `${describeKnobs(knobs).replaceAll('/', '-')}/run${run}`;
        const loadAverage = load1m();
        try {
          const stall = await runDrill(episode('region-freeze', `${dir}/stall`), lab.env, hooks);
          const stress =
            options.stressCpus > 0
              ? startStress(options.stressCpus, SWEEP_WARMUP_MS + SWEEP_DURATION_MS + 30_000)
              : null;
          let noFault: DrillReport;
          try {
            noFault = await runDrill(episode('latency-spikes', `${dir}/no-fault`), lab.env, hooks);
          } finally {
            await stress?.stop();
          }
          const result = sweepRun(
            stall,
            noFault,
            { stall: `${dir}/stall`, noFault: `${dir}/no-fault` },
            loadAverage,
          );
          log(
            `  run ${run}: detect ${ms(result.detectMs)}, payments RTO ${ms(result.rtoMs)}, ` +
              `${result.falseFailovers} false failover(s), load ${loadAverage}`,
          );
          runs.push(result);
        } catch (err) {
          // A drill that cannot set up or reset leaves this lab in a state the next run cannot start
          // from: the point keeps what it has, the sweep goes on with the next setting in a fresh lab.
          const error = (err as Error).message;
          log(`  run ${run} did not finish: ${error}`);
          runs.push(unfinishedRun(error, { stall: `${dir}/stall`, noFault: `${dir}/no-fault` }, loadAverage));
          break;
        }
      }
    } finally {
      await lab.stop();
    }
    points.push(summarizePoint(knobs, runs));
  }
  const report: SweepReport = {
    startedAt: new Date(startedAtMs).toISOString(),
    endedAt: new Date().toISOString(),
    stall: `region-freeze: ${SCENARIOS['region-freeze'].summary}`,
    noFault: `latency-spikes: ${SCENARIOS['latency-spikes'].summary}${options.stressCpus > 0 ? `, with stress-ng --cpu ${options.stressCpus}` : ''}`,
    runsPerPoint: options.runs,
    points: markFrontier(points),
  };
  await writeFile(path.join(outDir, 'sweep.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(outDir, 'sweep.md'), renderSweepMarkdown(report));
  await writeFile(path.join(outDir, 'sweep.svg'), renderSweepSvg(report.points));
  log(`\n${renderSweepTable(report)}`);
  return report;
}

function unfinishedRun(
  error: string,
  reports: { stall: string; noFault: string },
  loadAverage: number,
): SweepRun {
  return {
    detectMs: null,
    rtoMs: null,
    falseFailovers: 0,
    stall: { verdict: 'fail', report: reports.stall },
    noFault: { verdict: 'fail', report: reports.noFault },
    loadAverage,
    error,
  };
}

/** One run's figures from its two drill reports. */
export function sweepRun(
  stall: DrillReport,
  noFault: DrillReport,
  reports: { stall: string; noFault: string },
  loadAverage: number,
): SweepRun {
  // the slowest service to be confirmed down: the stall is over for the region only then
  const detected = Object.values(stall.phases)
    .map((p) => p.detectMs)
    .filter((v): v is number => v !== null);
  return {
    detectMs: detected.length > 0 ? Math.max(...detected) : null,
    rtoMs: stall.services.payments.rtoMs,
    falseFailovers: SERVICES.filter((s) => noFault.services[s].failedOver).length,
    stall: { verdict: stall.verdict, report: reports.stall },
    noFault: { verdict: noFault.verdict, report: reports.noFault },
    loadAverage,
  };
}

/** The CPU stress needs stress-ng (Debian package stress-ng; infra/lab/scripts/install-os-packages.sh). */
export function assertStressInstalled(): void {
  const probe = spawnSync('stress-ng', ['--version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0)
    throw new Error(
      'the sweep stresses the CPU with stress-ng, which is not installed: apt-get install -y stress-ng ' +
        '(or bash infra/lab/scripts/install-os-packages.sh), or pass --stress-cpu 0',
    );
}

/**
 * stress-ng burning `cpus` workers for at most `maxMs` (it stops itself then, whatever happens to us),
 * in its own process group so every worker stops with it.
 */
function startStress(cpus: number, maxMs: number): { stop(): Promise<void> } {
  const child: ChildProcess = spawn(
    'stress-ng',
    ['--cpu', String(cpus), '--timeout', `${Math.ceil(maxMs / 1000)}s`, '--quiet'],
    { detached: true, stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  return {
    async stop() {
      if (child.exitCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      await exited;
    },
  };
}
