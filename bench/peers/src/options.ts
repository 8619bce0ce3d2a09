// Command-line options of `npm run bench -- peers` (pure, tested).

export interface BenchOptions {
  /** every configuration runs this many times (overrides the per-configuration defaults) */
  runs: number | undefined;
  defaultRuns: Record<string, number>;
  /** the budget never cuts a configuration below this many runs */
  minRuns: number;
  budgetS: number;
  /** `project`, `patroni`, `sentinel:tuned`, …; empty = all */
  only: string[];
  rate: number;
  writeShare: number;
  warmupMs: number;
  tailMs: number;
  timeoutMs: number;
  subnet: number | undefined;
  out: string | undefined;
  install: boolean;
  /** leave the temp state dir (logs, data dirs) in place after stopping every process */
  keepState: boolean;
}

export const USAGE = `usage: npm run bench -- peers [options]
  --runs <n>         runs per configuration (default: 5 for the project and the tuned peers, 3 for the
                     peers' defaults, whose failovers take ~30 s each)
  --only <list>      comma-separated: project, patroni, sentinel, patroni:tuned, sentinel:default, …
  --rate <n>         requests per second, open model (default 40; 60 % writes)
  --budget <s>       stop adding runs beyond 3 per configuration when this many seconds would be
                     exceeded (default 840)
  --subnet <n>       second octet of every address (default LAB_SUBNET, else a free one of 100-250)
  --out <dir>        output folder (default drill-out/bench-peers-<time>/)
  --no-install       fail instead of installing missing Debian packages
  --keep-state       keep the temp state dir (every log and data dir) for a post-mortem; the
                     processes are stopped all the same`;

const CONFIGS = [
  'project',
  'patroni',
  'sentinel',
  'project:default',
  'patroni:default',
  'patroni:tuned',
  'sentinel:default',
  'sentinel:tuned',
];

export function parseOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): { options: BenchOptions; help: boolean } | { error: string } {
  const options: BenchOptions = {
    runs: undefined,
    defaultRuns: {
      'project/default': 5,
      'patroni/default': 3,
      'patroni/tuned': 5,
      'sentinel/default': 3,
      'sentinel/tuned': 5,
    },
    minRuns: 3,
    budgetS: 840,
    only: [],
    rate: 40,
    writeShare: 0.6,
    warmupMs: 3_000,
    tailMs: 6_000,
    timeoutMs: 5_000,
    subnet: undefined,
    out: undefined,
    install: true,
    keepState: false,
  };
  let help = false;
  const int = (name: string, raw: string | undefined, min: number, max: number): number | string => {
    const value = Number(raw);
    return Number.isInteger(value) && value >= min && value <= max
      ? value
      : `${name} must be an integer ${min}-${max}`;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = () => argv[++i];
    switch (arg) {
      case '--help':
      case '-h':
        help = true;
        break;
      case '--runs': {
        const v = int('--runs', next(), 1, 50);
        if (typeof v === 'string') return { error: v };
        options.runs = v;
        options.minRuns = Math.min(options.minRuns, v);
        break;
      }
      case '--rate': {
        const v = int('--rate', next(), 1, 1000);
        if (typeof v === 'string') return { error: v };
        options.rate = v;
        break;
      }
      case '--budget': {
        const v = int('--budget', next(), 60, 36_000);
        if (typeof v === 'string') return { error: v };
        options.budgetS = v;
        break;
      }
      case '--subnet': {
        const v = int('--subnet', next(), 1, 254);
        if (typeof v === 'string') return { error: v };
        options.subnet = v;
        break;
      }
      case '--only': {
        const list = (next() ?? '').split(',').filter(Boolean);
        const unknown = list.filter((x) => !CONFIGS.includes(x));
        if (list.length === 0 || unknown.length)
          return { error: `--only: unknown ${unknown.join(', ') || '(empty)'}` };
        options.only = list;
        break;
      }
      case '--out': {
        const dir = next();
        if (!dir) return { error: '--out needs a directory' };
        options.out = dir;
        break;
      }
      case '--no-install':
        options.install = false;
        break;
      case '--keep-state':
        options.keepState = true;
        break;
      default:
        return { error: `unknown option ${arg}` };
    }
  }
  if (options.subnet === undefined && env.LAB_SUBNET) {
    const v = int('LAB_SUBNET', env.LAB_SUBNET, 1, 254);
    // subnet 0 is the lab people run by hand; the benchmark's own lab must not land on it
    if (typeof v === 'string') return { error: `${v} (0 is the everyday lab's)` };
    options.subnet = v;
  }
  return { options, help };
}
