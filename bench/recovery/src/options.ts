// Command-line options of `npm run bench -- recovery` (pure, tested).

export const RECOVERY_SCENARIOS = ['region-kill', 'db-kill'] as const;

export interface RecoveryOptions {
  runs: number;
  scenarios: string[];
  subnet: number | undefined;
  out: string | undefined;
}

export const USAGE = `usage: npm run bench -- recovery [options]
  --runs <n>            drills per scenario, each on a fresh lab (default 10)
  --scenarios <list>    comma-separated (default ${RECOVERY_SCENARIOS.join(',')}; any drill scenario works)
  --subnet <n>          second octet of the labs' addresses (default LAB_SUBNET, else a free one of 100-250)
  --out <dir>           where each drill's report and the table go (default drill-out/bench-recovery-<time>/)`;

export function parseOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): { options: RecoveryOptions; help: boolean } | { error: string } {
  const options: RecoveryOptions = {
    runs: 10,
    scenarios: [...RECOVERY_SCENARIOS],
    subnet: env.LAB_SUBNET ? Number(env.LAB_SUBNET) : undefined,
    out: undefined,
  };
  const args = [...argv];
  while (args.length > 0) {
    const arg = args.shift()!;
    if (arg === '--help' || arg === '-h') return { options, help: true };
    const value = args.shift();
    if (value === undefined) return { error: `${arg} needs a value` };
    switch (arg) {
      case '--runs': {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1 || n > 1000) return { error: '--runs must be an integer 1-1000' };
        options.runs = n;
        break;
      }
      case '--scenarios': {
        const list = value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        if (list.length === 0 || list.some((s) => !/^[a-z-]+$/.test(s)))
          return { error: '--scenarios must be a comma-separated list of drill scenarios' };
        options.scenarios = list;
        break;
      }
      case '--subnet': {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1 || n > 254) return { error: '--subnet must be an integer 1-254' };
        options.subnet = n;
        break;
      }
      case '--out':
        options.out = value;
        break;
      default:
        return { error: `unknown option ${arg}` };
    }
  }
  if (
    options.subnet !== undefined &&
    (!Number.isInteger(options.subnet) || options.subnet < 1 || options.subnet > 254)
  )
    return { error: 'LAB_SUBNET must be an integer 1-254' };
  return { options, help: false };
}
