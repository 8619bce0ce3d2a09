// --load k6: the same drill with k6 (loadtests/failover.js) as the load, its JSON output read back as
// RequestRecords by the compose engineer's parser (src/k6/parse.ts). k6 is not installable on the
// machine this was written on: the command is unit-tested, the run itself is not.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface K6Plan {
  script: string;
  outFile: string;
  routerUrl: string;
  /** k6 scripts take a rate per service */
  ratePerService: number;
  durationMs: number;
  paymentsAdminUrl: string | null;
}

/** The exact k6 invocation. The admin token goes in the environment only, never on the command line. */
export function k6Command(
  plan: K6Plan,
  adminToken: string,
): { file: string; args: string[]; env: Record<string, string> } {
  return {
    file: 'k6',
    args: ['run', '--quiet', '--no-usage-report', '--out', `json=${plan.outFile}`, plan.script],
    env: {
      ROUTER_URL: plan.routerUrl,
      K6_RATE: String(plan.ratePerService),
      K6_DURATION: `${Math.ceil(plan.durationMs / 1000)}s`,
      ...(plan.paymentsAdminUrl
        ? { PAYMENTS_ADMIN_URL: plan.paymentsAdminUrl, ADMIN_TOKEN: adminToken }
        : {}),
    },
  };
}

/** Runs k6; resolves with its exit code (99 = thresholds crossed, still a usable output). */
export function runK6(command: ReturnType<typeof k6Command>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command.file, command.args, {
      env: { ...process.env, ...command.env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new Error('k6 is not installed (k6 >= 0.48 on PATH is needed for --load k6)')
          : err,
      ),
    );
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

/** Fails fast, before any setup or fault, when k6 is not on PATH. */
export function assertK6Installed(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('k6', ['version'], { stdio: 'ignore' });
    child.once('error', () =>
      reject(new Error('k6 is not installed (k6 >= 0.48 on PATH is needed for --load k6)')),
    );
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`k6 version exited with ${code}`)),
    );
  });
}

/** k6's own count of arrivals it could not start (dropped_iterations points). */
export async function k6DroppedIterations(outFile: string): Promise<number> {
  let dropped = 0;
  const lines = createInterface({ input: createReadStream(outFile), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (!line.includes('"dropped_iterations"') || !line.includes('"Point"')) continue;
    try {
      dropped += Number((JSON.parse(line) as { data: { value: number } }).data.value) || 0;
    } catch {
      // a torn last line of a killed run: ignore
    }
  }
  return dropped;
}
