// Command-line options → DrillOptions. Pure, so bad input is tested and reported before anything runs.
import { readEnv } from '@failover-lab/contracts';
import { Type } from 'typebox';
import { DEFAULT_OPTIONS, type DrillOptions } from './run';
import { SCENARIO_NAMES, type ScenarioName } from './scenarios/scenario';

export interface CliOptions extends DrillOptions {
  backend: 'local' | 'compose';
  /** the user gave --out (else a timestamped dir under drill-out/) */
  outGiven: boolean;
}

export const USAGE = `usage: npm run drill -- [scenario] [options]
scenarios: ${SCENARIO_NAMES.join(', ')} (default region-kill)
  active-active        region-kill on messaging active-passive, then active-active, side by side (local lab
                       only; each arm on a lab of its own under the report dir, on LAB_SUBNET)
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
  if (args[0] && !args[0].startsWith('--')) {
    const name = args.shift()!;
    if (!SCENARIO_NAMES.includes(name as ScenarioName)) {
      throw new UsageError(`unknown scenario ${JSON.stringify(name)}; one of ${SCENARIO_NAMES.join(', ')}`);
    }
    scenario = name as ScenarioName;
  }
  const options: CliOptions = {
    ...DEFAULT_OPTIONS,
    scenario,
    outDir: `drill-out/${scenario}-${now.toISOString().replace(/[:.]/g, '-')}`,
    outGiven: false,
    backend: 'local',
  };
  while (args.length > 0) {
    const flag = args.shift()!;
    const value = args.shift();
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    switch (flag) {
      case '--duration':
        options.durationMs = parseDuration(value, flag);
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
  if (options.users < 2) throw new UsageError('--users must be at least 2 (transfers need two accounts)');
  if (options.load === 'k6' && options.backend === 'compose') {
    // k6 seeds its accounts on the payments primary by URL; compose publishes no cell (README, limits)
    throw new UsageError('--load k6 runs with --backend local only; under compose use its k6 profile');
  }
  return options;
}
