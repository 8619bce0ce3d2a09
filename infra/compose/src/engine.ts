// A Docker engine for the compose end-to-end test on a host where none runs (this kind of machine has
// no systemd): install the packages (infra/compose/scripts/install-docker.sh), start /usr/sbin/dockerd
// in the background, stop it by its PID afterwards. An engine that already answers is used as it is
// and left running. When no engine can be had the caller gets the reason, never a skip.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './compose-cmd';

export interface Engine {
  /** true when this process started dockerd (and so stops it) */
  startedHere: boolean;
  stop(): Promise<void>;
}

const INSTALLER = join(REPO_ROOT, 'infra', 'compose', 'scripts', 'install-docker.sh');

export const engineAnswers = (): boolean =>
  spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 20_000 })
    .status === 0;

/**
 * On cgroup v1 every container sits in one `docker` group that, by default, weighs as much as a
 * single host process: with a busy host (labs, test suites) the whole stack then gets a few percent of
 * the CPU and node takes seconds to start. Weigh the group like the ~20 processes the stack runs.
 */
export function fairCpuShares(log: (line: string) => void): void {
  const group = '/sys/fs/cgroup/cpu/docker';
  if (!existsSync('/sys/fs/cgroup/cpu/cpu.shares')) return; // cgroup v2: no such group weight to fix
  try {
    mkdirSync(group, { recursive: true });
    writeFileSync(join(group, 'cpu.shares'), '20480');
    log(`${group}/cpu.shares = 20480 (as much CPU as 20 host processes)`);
  } catch (err) {
    log(`could not set ${group}/cpu.shares: ${(err as Error).message}`);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

export async function ensureEngine(log: (line: string) => void): Promise<Engine> {
  const install = spawnSync('bash', [INSTALLER], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (install.status !== 0) throw new Error(`${INSTALLER} failed (exit ${install.status}): no Docker engine`);
  if (engineAnswers()) {
    log('a Docker engine already answers: using it (and leaving it running)');
    fairCpuShares(log);
    return { startedHere: false, stop: async () => {} };
  }
  const dir = mkdtempSync(join(tmpdir(), 'failover-lab-dockerd-'));
  const logFile = join(dir, 'dockerd.log');
  const out = openSync(logFile, 'a');
  log(`starting /usr/sbin/dockerd (log ${logFile})`);
  const child = spawn('/usr/sbin/dockerd', ['--pidfile', join(dir, 'dockerd.pid')], {
    stdio: ['ignore', out, out],
    detached: true,
  });
  const tail = () => {
    try {
      return readFileSync(logFile, 'utf8').trim().split('\n').slice(-15).join('\n');
    } catch {
      return '(no log)';
    }
  };
  const stop = async () => {
    if (isRunning(child)) {
      child.kill('SIGTERM');
      for (let i = 0; i < 150 && isRunning(child); i++) await sleep(200);
      if (isRunning(child)) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (!isRunning(child)) {
      const reason = tail();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`dockerd exited (code ${child.exitCode}) before answering:\n${reason}`);
    }
    if (engineAnswers()) {
      log(`dockerd ${child.pid} answers`);
      fairCpuShares(log);
      return { startedHere: true, stop };
    }
    await sleep(500);
  }
  const reason = tail();
  await stop();
  throw new Error(`dockerd did not answer within 90 s:\n${reason}`);
}
