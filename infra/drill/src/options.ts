// Command-line options → DrillOptions. Pure, so bad input is tested and reported before anything runs.
import { readEnv } from '@failover-lab/contracts';
import { Type } from 'typebox';
import { DEFAULT_OPTIONS, type DrillOptions } from './run';
import { SCENARIO_NAMES, type ScenarioName } from './scenarios/scenario';
import { SWEEP_GRID } from './sweep/analysis';

/** Drills that run one fault on several set-ups and compare them (comparisons/). */
/** (and the detection sweep, which also starts a lab per setting and reports several side by side) */
export const COMPARISON_NAMES = ['control-plane', 'sync-async', 'sweep'] as const;
export type ComparisonName = (typeof COMPARISON_NAMES)[number];

/** control-plane: how long the arm whose control plane died is watched after the kill */
export const DEFAULT_WATCH_MS = 60_000;

export interface CliOptions extends DrillOptions {
  /** a comparison instead of a single scenario (its arms run `scenario`'s fault) */
  comparison: ComparisonName | null;
  watchMs: number;
  /** sweep: grid points, runs per point, stress-ng CPU workers in the no-fault episode */
  points: number;
  runs: number;
  stressCpus: number;
  backend: 'local' | 'compose';
  /** the user gave --out (else a timestamped dir under drill-out/) */
  outGiven: boolean;
}

export const USAGE = `usage: npm run drill -- [scenario] [options]
scenarios: ${SCENARIO_NAMES.join(', ')} (default region-kill)
comparisons (each arm in a lab of its own, started and wiped here, on LAB_SUBNET else a free subnet of 100-250):
  control-plane — the same region kill with the router, its state and Prometheus inside dc-a (nothing
    recovers: it passes by staying down) and at the edge (fails over)
  sync-async — the same load and region kill with payments replicating synchronously and asynchronously:
    p50/p99 of acknowledged transfers and the acknowledged transfers lost, side by side
  active-active — region-kill on messaging active-passive, then active-active, side by side
sweep: the router's probe interval × timeout × fall, one lab per setting; per run a region-freeze (how
  fast a stall is detected) and latency-spikes under stress-ng (false failovers); sweep.md/.json/.svg.
  Not part of CI: the full grid (8 × 3) runs long on 2 cores.
  --points <n>         settings of the grid, 1-${SWEEP_GRID.length} (default ${SWEEP_GRID.length}; the default setting is always the first)
  --runs <n>           runs per setting (default 3)
  --stress-cpu <n>     stress-ng CPU workers during each no-fault episode (default 2; 0: no stress)
  --watch <time>       control-plane: how long the dead arm is watched after the kill (default ${DEFAULT_WATCH_MS / 1000}s)
  --duration <time>    load after the fault (default ${DEFAULT_OPTIONS.durationMs / 1000}s; 30s, 1500ms, 2m)
  --warmup <time>      load before the fault (default ${DEFAULT_OPTIONS.warmupMs / 1000}s)
  --rate <n>           requests per second, all services together (default ${DEFAULT_OPTIONS.ratePerSec})
  --seed <n>           seed of the op mix, users, rooms and amounts (default ${DEFAULT_OPTIONS.seed})
  --users <n>          drill users (and payments accounts) set up before the load (default ${DEFAULT_OPTIONS.users})
  --out <dir>          where report.json/md/html go (default drill-out/<scenario>-<timestamp>/)
  --backend local|compose   local lab (default; started and stopped if not running) or docker compose
  --load builtin|k6    built-in open-model generator (default) or k6 running loadtests/failover.js (k6 >= 0.48 on PATH)`;

export class UsageError extends Error {}

export function parseDuration(text: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${name} must look like 30s, 1500ms or 2m (got ${JSON.stringify(text)})`);
  const value = Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 } as const)[(m[2] ?? 's') as 'ms' | 's' | 'm'];
  if (value <= 0 || value > 3_600_000) throw new UsageError(`${name} must be between 1 ms and 1 h`);
  return Math.round(value);
}

function positiveInt(text: string, name: string, max: number): number {
  const { value, problems } = readEnv(Type.Object({ [name]: Type.Integer({ minimum: 1, maximum: max }) }), {
    [name]: text,
  });
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  return value[name] as number;
}

export function parseCli(argv: string[], now = new Date()): CliOptions {
  const args = [...argv];
  let scenario: ScenarioName = 'region-kill';
  let comparison: ComparisonName | null = null;
  if (args[0] && !args[0].startsWith('--')) {
    const name = args.shift()!;
    if (COMPARISON_NAMES.includes(name as ComparisonName)) comparison = name as ComparisonName;
    else if (SCENARIO_NAMES.includes(name as ScenarioName)) scenario = name as ScenarioName;
    else
      throw new UsageError(
        `unknown scenario ${JSON.stringify(name)}; one of ${[...SCENARIO_NAMES, ...COMPARISON_NAMES].join(', ')}`,
      );
  }
  const options: CliOptions = {
    ...DEFAULT_OPTIONS,
    scenario,
    comparison,
    watchMs: DEFAULT_WATCH_MS,
    points: SWEEP_GRID.length,
    runs: 3,
    stressCpus: 2,
    outDir: `drill-out/${comparison ?? scenario}-${now.toISOString().replace(/[:.]/g, '-')}`,
    outGiven: false,
    backend: 'local',
  };
  let watchGiven = false;
  let sweepGiven = false;
  while (args.length > 0) {
    const flag = args.shift()!;
    const value = args.shift();
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    switch (flag) {
      case '--duration':
        options.durationMs = parseDuration(value, flag);
        break;
      case '--watch':
        options.watchMs = parseDuration(value, flag);
        watchGiven = true;
        break;
      case '--points':
        options.points = positiveInt(value, flag, SWEEP_GRID.length);
        sweepGiven = true;
        break;
      case '--runs':
        options.runs = positiveInt(value, flag, 10);
        sweepGiven = true;
        break;
      case '--stress-cpu':
        options.stressCpus = value === '0' ? 0 : positiveInt(value, flag, 16);
        sweepGiven = true;
        break;
      case '--warmup':
        options.warmupMs = parseDuration(value, flag);
        break;
      case '--rate':
        options.ratePerSec = positiveInt(value, flag, 5_000);
        break;
      case '--seed':
        options.seed = positiveInt(value, flag, 2 ** 31);
        break;
      case '--users':
        options.users = positiveInt(value, flag, 1_000);
        break;
      case '--out':
        options.outDir = value;
        options.outGiven = true;
        break;
      case '--backend':
        if (value !== 'local' && value !== 'compose')
          throw new UsageError('--backend must be local or compose');
        options.backend = value;
        break;
      case '--load':
        if (value !== 'builtin' && value !== 'k6') throw new UsageError('--load must be builtin or k6');
        options.load = value;
        break;
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  if (sweepGiven && comparison !== 'sweep')
    throw new UsageError('--points, --runs and --stress-cpu belong to the sweep');
  if (watchGiven && comparison !== 'control-plane')
    throw new UsageError('--watch belongs to the control-plane comparison');
  if (comparison !== null && (options.backend !== 'local' || options.load !== 'builtin')) {
    // the arms place the control plane by starting labs of their own, and watch with the built-in load
    throw new UsageError(`${comparison} runs on the local lab with the built-in load only`);
  }
  if (options.users < 2) throw new UsageError('--users must be at least 2 (transfers need two accounts)');
  if (options.load === 'k6' && options.backend === 'compose') {
    // k6 seeds its accounts on the payments primary by URL; compose publishes no cell (README, limits)
    throw new UsageError('--load k6 runs with --backend local only; under compose use its k6 profile');
  }
  return options;
}
