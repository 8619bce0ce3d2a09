// --load k6: the same drill with k6 (loadtests/failover.js) as the load, its JSON output read back as
// RequestRecords by src/k6/parse.ts. k6 is not installable on the machine this was written on: the
// command and the start/exit handling are tested (with a stand-in executable for k6's process), a real
// k6 v0.48 run is not.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { MIX } from './workload';

export interface K6Plan {
  script: string;
  outFile: string;
  routerUrl: string;
  /** requests per second, all services together: a whole number (k6 takes integer rates only) */
  ratePerSec: number;
  durationMs: number;
  /** users the scripts' sign-ins go round-robin over (login's per-user limit) */
  users: number;
  paymentsAdminUrl: string | null;
}

/**
 * The exact k6 invocation. Script variables are LOAD_*, never K6_*: k6 reads every K6_* variable as
 * one of its own options (K6_DURATION would replace the scripts' scenarios). The admin token goes in
 * the environment only, never on the command line.
 */
export function k6Command(
  plan: K6Plan,
  adminToken: string,
): { file: string; args: string[]; env: Record<string, string> } {
  if (!Number.isInteger(plan.ratePerSec) || plan.ratePerSec < 1)
    throw new Error(`k6 takes whole request rates only, got ${plan.ratePerSec}`);
  return {
    file: 'k6',
    args: ['run', '--quiet', '--no-usage-report', '--out', `json=${plan.outFile}`, plan.script],
    env: {
      ROUTER_URL: plan.routerUrl,
      LOAD_RATE: String(plan.ratePerSec),
      LOAD_DURATION: `${Math.ceil(plan.durationMs / 1000)}s`,
      LOAD_USERS: String(plan.users),
      ...(plan.paymentsAdminUrl
        ? { PAYMENTS_ADMIN_URL: plan.paymentsAdminUrl, ADMIN_TOKEN: adminToken }
        : {}),
    },
  };
}

export interface K6Run {
  /** resolves once k6's scenarios send requests; rejects when k6 exits (or hangs) before that */
  started: Promise<void>;
  /** k6's exit code (99 = thresholds crossed, still a usable output) */
  exited: Promise<number>;
  kill(): void;
}

/** The scenario names of loadtests/lib/plan.js: one per op of the drill's mix (setup() is none of them). */
const SCENARIOS = Object.keys(MIX);

/**
 * Starts k6. `started` settles on the first request point from one of the scripts' scenarios in the
 * JSON output (setup() alone is not the load), or rejects with k6's exit code when k6 dies first — a
 * script k6 cannot compile, bad options, a failed setup() — so the drill never injects a fault into a
 * platform that carries no load.
 */
export function startK6(
  command: ReturnType<typeof k6Command>,
  outFile: string,
  startTimeoutMs = 90_000,
): K6Run {
  const child = spawn(command.file, command.args, {
    env: { ...process.env, ...command.env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let exitCode: number | null = null;
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new Error('k6 is not installed (k6 >= 0.48 on PATH is needed for --load k6)')
          : err,
      ),
    );
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? 128 : 1);
      resolve(exitCode);
    });
  });
  exited.catch(() => {});
  const started = (async () => {
    const deadline = Date.now() + startTimeoutMs;
    let offset = 0;
    let pending = '';
    while (Date.now() < deadline) {
      const chunk = await readFrom(outFile, offset);
      offset += chunk.length;
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      if (lines.some(isScenarioRequest)) return;
      if (exitCode !== null)
        throw new Error(`k6 exited with code ${exitCode} before its load started (see its output above)`);
      await Promise.race([exited.catch(() => 0), sleep(200)]);
    }
    child.kill('SIGKILL');
    throw new Error(`k6 sent no request within ${startTimeoutMs / 1000} s of starting`);
  })();
  started.catch(() => {});
  return { started, exited, kill: () => child.kill('SIGKILL') };
}

function isScenarioRequest(line: string): boolean {
  if (!line.includes('"http_reqs"') || !line.includes('"Point"')) return false;
  try {
    const point = JSON.parse(line) as { data?: { tags?: { scenario?: string } } };
    return SCENARIOS.includes(point.data?.tags?.scenario ?? '');
  } catch {
    return false;
  }
}

async function readFrom(file: string, offset: number): Promise<Buffer> {
  const handle = await open(file, 'r').catch(() => null);
  if (!handle) return Buffer.alloc(0);
  try {
    const { size } = await handle.stat();
    if (size <= offset) return Buffer.alloc(0);
    const buffer = Buffer.alloc(size - offset);
    await handle.read(buffer, 0, buffer.length, offset);
    return buffer;
  } finally {
    await handle.close();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
