// Drills from the console: history from the drill-out folder (every report.json, opening its
// report.html), and "run drill", which runs the drill CLI as a child process exactly as a person would
// (`npm run drill -- <scenario> …`) and follows its progress lines. The console never runs a drill in
// its own process: the drill's load and timers must not share an event loop with the page's stream.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { SCENARIO_NAMES, type ScenarioName } from '@failover-lab/drill';
import { SERVICES, type ServiceName } from '@failover-lab/lab';
import { ConsoleError } from './errors';

export interface DrillSummary {
  /** the report's folder, relative to drill-out (e.g. `region-kill-2026-…`) */
  id: string;
  scenario: string;
  verdict: 'pass' | 'fail';
  reasons: string[];
  fault: { kind: string; target: string; injectedAt: string };
  services: Partial<
    Record<ServiceName, { requests: number; failed: number; rtoMs: number | null; maxStallMs: number }>
  >;
  hasHtml: boolean;
}

const MAX_HISTORY = 200;
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function readSummary(root: string, dir: string): DrillSummary | null {
  try {
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    if (typeof report?.scenario !== 'string' || typeof report?.fault?.injectedAt !== 'string') return null;
    const services: DrillSummary['services'] = {};
    for (const s of SERVICES) {
      const r = report.services?.[s];
      if (r)
        services[s] = { requests: r.requests, failed: r.failed, rtoMs: r.rtoMs, maxStallMs: r.maxStallMs };
    }
    return {
      id: relative(root, dir).split(sep).join('/'),
      scenario: report.scenario,
      verdict: report.verdict === 'pass' ? 'pass' : 'fail',
      reasons: Array.isArray(report.reasons) ? report.reasons.slice(0, 5).map(String) : [],
      fault: {
        kind: String(report.fault.kind),
        target: String(report.fault.target),
        injectedAt: report.fault.injectedAt,
      },
      services,
      hasHtml: existsSync(join(dir, 'report.html')),
    };
  } catch {
    return null; // a drill still writing, or not a report
  }
}

const isDir = (path: string) => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** Every report in drill-out: `<dir>/report.json`, and one level deeper (test runs group theirs). */
export function listDrills(root: string): DrillSummary[] {
  if (!isDir(root)) return [];
  const found: DrillSummary[] = [];
  for (const name of readdirSync(root)) {
    const dir = join(root, name);
    if (!SEGMENT.test(name) || !isDir(dir)) continue;
    if (existsSync(join(dir, 'report.json'))) {
      const summary = readSummary(root, dir);
      if (summary) found.push(summary);
      continue;
    }
    for (const inner of readdirSync(dir)) {
      const innerDir = join(dir, inner);
      if (SEGMENT.test(inner) && existsSync(join(innerDir, 'report.json'))) {
        const summary = readSummary(root, innerDir);
        if (summary) found.push(summary);
      }
    }
  }
  return found
    .sort((a, b) => Date.parse(b.fault.injectedAt) - Date.parse(a.fault.injectedAt))
    .slice(0, MAX_HISTORY);
}

/** A report id from a request: one or two plain path segments, inside drill-out, or a 4xx. */
export function reportDir(root: string, id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 300) {
    throw new ConsoleError('CONSOLE_ERR_VALIDATION', 'id must be a report folder name');
  }
  const segments = id.split('/');
  if (segments.length > 2 || !segments.every((s) => SEGMENT.test(s))) {
    throw new ConsoleError('CONSOLE_ERR_VALIDATION', 'id must be a report folder name');
  }
  const dir = resolve(root, ...segments);
  if (!dir.startsWith(resolve(root) + sep)) {
    throw new ConsoleError('CONSOLE_ERR_VALIDATION', 'id must be a report folder name');
  }
  return dir;
}

export async function readReportHtml(root: string, id: unknown): Promise<string> {
  const dir = reportDir(root, id);
  try {
    return await readFile(join(dir, 'report.html'), 'utf8');
  } catch {
    throw new ConsoleError('CONSOLE_ERR_NOT_FOUND', `no report.html for ${String(id)}`);
  }
}

// ------------------------------------------------------------------ progress lines

export interface DrillProgress {
  elapsedS: number;
  phase: string;
  reqPerSec: number;
  services: Partial<Record<ServiceName, { ok: number; failed: number }>>;
  dropped: number;
}

const PROGRESS = /^\[([\w-]+)\] (\d+(?:\.\d+)?)s (.+?) (\d+) req\/s \| (.*) \| dropped (\d+)$/;
const SERVICE_COUNTS = /^(\w+) (\d+) ok\/(\d+) failed$/;

/** One of the drill's progress lines (ProgressTally.line), or null for any other line. */
export function parseProgressLine(line: string): DrillProgress | null {
  const m = PROGRESS.exec(line.trim());
  if (!m) return null;
  const services: DrillProgress['services'] = {};
  for (const part of m[5]!.split(' | ')) {
    const s = SERVICE_COUNTS.exec(part);
    if (s && SERVICES.includes(s[1] as ServiceName)) {
      services[s[1] as ServiceName] = { ok: Number(s[2]), failed: Number(s[3]) };
    }
  }
  return {
    elapsedS: Number(m[2]),
    phase: m[3]!,
    reqPerSec: Number(m[4]),
    services,
    dropped: Number(m[6]),
  };
}

// ------------------------------------------------------------------ running a drill

export interface DrillRequest {
  scenario: ScenarioName;
  warmupS: number;
  durationS: number;
  ratePerSec: number;
  /** drill users (= payments accounts); each costs a sign-up's scrypt before the load */
  users: number;
}

export interface DrillRun {
  id: string;
  request: DrillRequest;
  state: 'running' | 'passed' | 'failed' | 'error';
  startedAt: string;
  endedAt: string | null;
  exitCode: number | null;
  progress: DrillProgress | null;
  /** the drill's own log lines (never secrets: the drill prints none), last ones only */
  log: string[];
  summary: DrillSummary | null;
}

export const DRILL_LIMITS = {
  warmupS: { min: 2, max: 60, default: 6 },
  durationS: { min: 5, max: 300, default: 24 },
  ratePerSec: { min: 1, max: 100, default: 40 },
  users: { min: 2, max: 50, default: 8 },
} as const;

export function validateDrillRequest(body: unknown): DrillRequest {
  const fail = (message: string): never => {
    throw new ConsoleError('CONSOLE_ERR_VALIDATION', message);
  };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) fail('body must be a JSON object');
  const b = body as Record<string, unknown>;
  const extra = Object.keys(b).filter(
    (k) => !['scenario', 'warmupS', 'durationS', 'ratePerSec', 'users'].includes(k),
  );
  if (extra.length) fail(`unknown field ${extra[0]}`);
  if (!SCENARIO_NAMES.includes(b.scenario as ScenarioName))
    fail(`scenario must be one of ${SCENARIO_NAMES.join(', ')}`);
  const number = (name: keyof typeof DRILL_LIMITS): number => {
    const value = b[name] ?? DRILL_LIMITS[name].default;
    const { min, max } = DRILL_LIMITS[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      fail(`${name} must be an integer from ${min} to ${max}`);
    }
    return value as number;
  };
  return {
    scenario: b.scenario as ScenarioName,
    warmupS: number('warmupS'),
    durationS: number('durationS'),
    ratePerSec: number('ratePerSec'),
    users: number('users'),
  };
}

export interface DrillRunnerDeps {
  repoRoot: string;
  drillOutDir: string;
  /** the lab's environment for the drill CLI (LAB_STATE_DIR, LAB_SUBNET, ports): no secrets */
  labEnv: NodeJS.ProcessEnv;
  onChange: (run: DrillRun) => void;
  onFinished: () => void;
}

const LOG_LINES = 60;

export class DrillRunner {
  private run: DrillRun | null = null;
  private child: ChildProcess | null = null;

  constructor(private readonly deps: DrillRunnerDeps) {}

  current(): DrillRun | null {
    return this.run;
  }

  isRunning(): boolean {
    return this.run?.state === 'running';
  }

  start(request: DrillRequest): DrillRun {
    if (this.isRunning()) throw new ConsoleError('CONSOLE_ERR_BUSY', 'a drill is already running');
    const now = new Date();
    const id = `${request.scenario}-${now.toISOString().replace(/[:.]/g, '-')}`;
    const outDir = join(this.deps.drillOutDir, id);
    const run: DrillRun = {
      id,
      request,
      state: 'running',
      startedAt: now.toISOString(),
      endedAt: null,
      exitCode: null,
      progress: null,
      log: [],
      summary: null,
    };
    this.run = run;
    const { PATH, HOME, LANG, TZ } = process.env;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(this.deps.repoRoot, 'infra', 'drill', 'src', 'cli.ts'),
        request.scenario,
        '--warmup',
        `${request.warmupS}s`,
        '--duration',
        `${request.durationS}s`,
        '--rate',
        String(request.ratePerSec),
        '--users',
        String(request.users),
        '--out',
        outDir,
      ],
      {
        cwd: this.deps.repoRoot,
        env: { PATH, HOME, LANG, TZ, ...this.deps.labEnv, DRILL_PROGRESS_EVERY_MS: '1000' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    const onLine = (line: string) => {
      const progress = parseProgressLine(line);
      if (progress) run.progress = progress;
      else if (line.trim()) run.log = [...run.log, line].slice(-LOG_LINES);
      this.deps.onChange(run);
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.on('error', (err) => {
      run.log = [...run.log, `could not start the drill: ${err.message}`].slice(-LOG_LINES);
    });
    child.on('close', (code) => {
      this.child = null;
      run.exitCode = code;
      run.endedAt = new Date().toISOString();
      run.summary = readSummary(this.deps.drillOutDir, outDir);
      // exit 0 = pass, 1 = fail (a report exists), anything else = the drill could not run
      run.state = code === 0 ? 'passed' : code === 1 && run.summary ? 'failed' : 'error';
      this.deps.onChange(run);
      this.deps.onFinished();
    });
    this.deps.onChange(run);
    return run;
  }

  /** On shutdown: the drill restores what it broke only if it runs to the end, so let it know. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGINT');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 10_000);
      child.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
