// Runs the test suite several times in a row and says, per run and per test, what passed and what
// failed: a suite that is red by chance shows up here as a test that fails in some runs only.
//
//   npx tsx .ci/repeat.ts --runs 5                      # `npx vitest run` in this tree, 5 times
//   npx tsx .ci/repeat.ts --runs 3 -- --project drill   # anything after -- goes to vitest
//   npx tsx .ci/repeat.ts --runs 5 --clean-clone        # `bash .ci/run` on a fresh clone of HEAD each time
//
// Each run's vitest JSON and log are kept in a temp dir (printed) so a failure can be read afterwards.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const REPO = path.resolve(import.meta.dirname, '..');

interface AssertionResult {
  fullName: string;
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo';
  failureMessages?: string[];
}
interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { name: string; assertionResults: AssertionResult[]; message?: string; status: string }[];
}

interface RunResult {
  run: number;
  exitCode: number;
  seconds: number;
  load: string;
  passed: number;
  failed: number;
  skipped: number;
  failures: { test: string; message: string }[];
  log: string;
}

const { values, positionals } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    'clean-clone': { type: 'boolean', default: false },
    'keep-going': { type: 'boolean', default: true },
  },
  allowPositionals: true,
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs must be a positive integer, got ${values.runs}`);
const vitestArgs = positionals;
const workDir = mkdtempSync(path.join(tmpdir(), 'flab-repeat-'));
console.log(
  `repeat: ${runs} run(s) of ${values['clean-clone'] ? 'bash .ci/run on a clean clone' : `vitest ${vitestArgs.join(' ')}`}; logs in ${workDir}`,
);

const loadNow = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

function run(command: string, args: string[], cwd: string, logFile: string, env: NodeJS.ProcessEnv) {
  return new Promise<number>((resolve) => {
    const log = createWriteStream(logFile);
    // its own process group, so an interrupted repeat can end the whole run (labs included) by group
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    const stop = () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {}
    };
    process.once('SIGINT', stop);
    child.on('close', (code) => {
      process.off('SIGINT', stop);
      log.end(() => resolve(code ?? 1));
    });
  });
}

async function oneRun(n: number): Promise<RunResult> {
  const jsonFile = path.join(workDir, `run-${n}.json`);
  const logFile = path.join(workDir, `run-${n}.log`);
  const started = performance.now();
  let cwd = REPO;
  let exitCode: number;
  if (values['clean-clone']) {
    cwd = path.join(workDir, `clone-${n}`);
    const cloned = await run('git', ['clone', '-q', REPO, cwd], workDir, `${logFile}.clone`, process.env);
    if (cloned !== 0) throw new Error(`git clone failed (see ${logFile}.clone)`);
    // .ci/run writes its vitest JSON to a temp file of its own; ask it to use ours instead
    exitCode = await run('bash', ['.ci/run'], cwd, logFile, { ...process.env, CI_VITEST_JSON: jsonFile });
  } else {
    exitCode = await run(
      'npx',
      [
        'vitest',
        'run',
        ...vitestArgs,
        '--reporter=default',
        '--reporter=json',
        `--outputFile.json=${jsonFile}`,
      ],
      cwd,
      logFile,
      process.env,
    );
  }
  const seconds = (performance.now() - started) / 1000;
  const load = loadNow();
  if (values['clean-clone']) rmSync(cwd, { recursive: true, force: true });
  if (!existsSync(jsonFile)) {
    return {
      run: n,
      exitCode,
      seconds,
      load,
      passed: 0,
      failed: 0,
      skipped: 0,
      failures: [
        { test: '(no test results: the run failed before or outside vitest)', message: `see ${logFile}` },
      ],
      log: logFile,
    };
  }
  const json = JSON.parse(readFileSync(jsonFile, 'utf8')) as VitestJson;
  const failures: RunResult['failures'] = [];
  for (const file of json.testResults) {
    const rel = path.relative(cwd, file.name);
    for (const a of file.assertionResults) {
      if (a.status === 'failed')
        failures.push({ test: `${rel} > ${a.fullName}`, message: firstLine(a.failureMessages?.[0]) });
    }
    // a file that failed to load or whose hooks failed has no failed assertion of its own
    if (file.status === 'failed' && !file.assertionResults.some((a) => a.status === 'failed')) {
      failures.push({ test: `${rel} (file)`, message: firstLine(file.message) });
    }
  }
  return {
    run: n,
    exitCode,
    seconds,
    load,
    passed: json.numPassedTests,
    failed: json.numFailedTests,
    skipped: json.numPendingTests + json.numTodoTests,
    failures,
    log: logFile,
  };
}

const firstLine = (s: string | undefined) =>
  (s ?? '')
    .split('\n')
    .find((l) => l.trim() !== '')
    ?.trim()
    .slice(0, 200) ?? '';

const results: RunResult[] = [];
for (let n = 1; n <= runs; n++) {
  const r = await oneRun(n);
  results.push(r);
  const verdict = r.exitCode === 0 && r.failures.length === 0 ? 'PASS' : 'FAIL';
  console.log(
    `run ${n}/${runs}: ${verdict} in ${r.seconds.toFixed(0)} s — ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped (exit ${r.exitCode}, load avg ${r.load})`,
  );
  for (const f of r.failures) console.log(`  ✘ ${f.test}\n      ${f.message}`);
}

const byTest = new Map<string, number[]>();
for (const r of results)
  for (const f of r.failures) byTest.set(f.test, [...(byTest.get(f.test) ?? []), r.run]);
const green = results.filter((r) => r.exitCode === 0 && r.failures.length === 0).length;
console.log(`\nsummary: ${green}/${runs} runs green`);
if (byTest.size === 0) console.log('no test failed in any run');
for (const [test, inRuns] of byTest)
  console.log(`  failed in ${inRuns.length}/${runs} (runs ${inRuns.join(', ')}): ${test}`);
console.log(`logs: ${workDir}`);
process.exitCode = green === runs ? 0 : 1;
