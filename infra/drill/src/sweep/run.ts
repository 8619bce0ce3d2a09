// `npm run drill -- sweep`: for each probe setting of the grid, one lab whose router runs with it
// (LAB_ROUTER_PROBE), and per run two ordinary drills: region-freeze (a stall: how fast is it
// detected) and latency-spikes with the CPU stressed by stress-ng (nothing lost: every failover is a
// false one). Writes sweep.json (the contract's SweepReport), sweep.md and sweep.svg; each drill's own
// report stays in its folder. A command people run, not part of CI: 8 points × 3 runs is long.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
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
import { type DrillEnvironment, type DrillHooks, type DrillOptions, runDrill } from '../run';
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

/**
 * After this many runs of a point did not finish, the point stops: a setting that cannot even hold
 * steady state on this machine (a probe timeout under the probes' own latency at this load) would
 * otherwise spend the sweep's time on fresh labs.
 */
export const MAX_FAILED_RUNS_PER_POINT = 2;

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
    let lab: Awaited<ReturnType<StartArm>> | null = null;
    let failures = 0;
    try {
      for (let run = 1; run <= options.runs && failures < MAX_FAILED_RUNS_PER_POINT; run++) {
        const dir = `${describeKnobs(knobs).replaceAll('/', '-')}/run${run}`;
        const reports = { stall: `${dir}/stall`, noFault: `${dir}/no-fault` };
        const loadAverage = load1m();
        if (!lab) {
          try {
            lab = await startArm({ controlPlane: 'edge', probe: knobs });
          } catch (err) {
            const error = `the lab did not come up: ${(err as Error).message}`;
            log(`  run ${run}: ${error}`);
            runs.push(unfinishedRun(error, reports, loadAverage));
            failures++;
            continue;
          }
        }
        const result = await sweepEpisodes(lab.env, episode, reports, options.stressCpus, hooks);
        const measured = { ...result.run, loadAverage };
        runs.push(measured);
        if (measured.error === undefined) {
          log(
            `  run ${run}: detect ${ms(measured.detectMs)}, payments RTO ${ms(measured.rtoMs)}, ` +
              `${measured.falseFailovers} false failover(s), load ${loadAverage}`,
          );
          continue;
        }
        // A drill that could not set up or reset leaves this lab in a state the next run cannot start
        // from: the next run gets a fresh lab with the same setting.
        log(
          `  run ${run} did not finish${measured.partial ? ' (its stall episode did)' : ''}: ${measured.error}`,
        );
        failures++;
        await lab.stop();
        lab = null;
      }
    } finally {
      await lab?.stop();
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

/**
 * One run's two episodes in the same lab. Whatever the stall episode measured counts even when its
 * reset or the no-fault episode fails afterwards (the run is then partial): that an eager setting
 * cannot get back to steady state is itself its finding.
 */
async function sweepEpisodes(
  env: DrillEnvironment,
  episode: (scenario: DrillOptions['scenario'], dir: string) => DrillOptions,
  reports: { stall: string; noFault: string },
  stressCpus: number,
  hooks: DrillHooks,
): Promise<{ run: Omit<SweepRun, 'loadAverage'> }> {
  const stall = await episodeReport(episode('region-freeze', reports.stall), env, hooks);
  if (!stall.report) return { run: omitLoad(unfinishedRun(stall.error!, reports, 0)) };
  if (stall.error) {
    return {
      run: omitLoad({
        ...sweepRun(stall.report, null, reports, 0),
        error: `${stall.error} (the no-fault episode did not run)`,
        partial: true,
      }),
    };
  }
  const stress =
    stressCpus > 0 ? startStress(stressCpus, SWEEP_WARMUP_MS + SWEEP_DURATION_MS + 30_000) : null;
  let noFault: Awaited<ReturnType<typeof episodeReport>>;
  try {
    noFault = await episodeReport(episode('latency-spikes', reports.noFault), env, hooks);
  } finally {
    await stress?.stop();
  }
  const run = sweepRun(stall.report, noFault.report, reports, 0);
  return { run: omitLoad(noFault.error ? { ...run, error: noFault.error, partial: true } : run) };
}

const omitLoad = ({ loadAverage: _, ...run }: SweepRun) => run;

/**
 * A drill episode's report, also when the drill threw after writing it (its reset failed): the
 * report.json in its folder is this episode's, since every episode has a folder of its own.
 */
async function episodeReport(
  options: DrillOptions,
  env: DrillEnvironment,
  hooks: DrillHooks,
): Promise<{ report: DrillReport | null; error: string | null }> {
  try {
    return { report: await runDrill(options, env, hooks), error: null };
  } catch (err) {
    const error = (err as Error).message;
    try {
      const report = JSON.parse(
        await readFile(path.join(options.outDir, 'report.json'), 'utf8'),
      ) as DrillReport;
      return { report, error: `after its report: ${error}` };
    } catch {
      return { report: null, error };
    }
  }
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

/**
 * One run's figures from its two drill reports (the no-fault one null when it did not run). A
 * failover before the stall's fault is as false as one in the no-fault episode: both count.
 */
export function sweepRun(
  stall: DrillReport,
  noFault: DrillReport | null,
  reports: { stall: string; noFault: string },
  loadAverage: number,
): SweepRun {
  // the slowest service to be confirmed down: the stall is over for the region only then
  const detected = Object.values(stall.phases)
    .map((p) => p.detectMs)
    .filter((v): v is number => v !== null);
  const falseInNoFault = noFault ? SERVICES.filter((s) => noFault.services[s].failedOver) : [];
  return {
    detectMs: detected.length > 0 ? Math.max(...detected) : null,
    rtoMs: stall.services.payments.rtoMs,
    falseFailovers: falseInNoFault.length + promotedBeforeFault(stall).length,
    stall: { verdict: stall.verdict, report: reports.stall },
    noFault: { verdict: noFault?.verdict ?? 'fail', report: reports.noFault },
    loadAverage,
  };
}

/** Services the router promoted during the episode's set-up and warm-up, before its fault. */
export function promotedBeforeFault(report: DrillReport): string[] {
  const faultMs = Date.parse(report.fault.injectedAt);
  return [
    ...new Set(
      report.events.filter((e) => e.type === 'promoted' && Date.parse(e.at) < faultMs).map((e) => e.service),
    ),
  ];
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
