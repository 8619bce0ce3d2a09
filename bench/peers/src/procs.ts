// Every process the benchmark starts, and how it dies. All of them get this run's own root directory
// (a fresh temp dir) in their argv — data dir, config file, Redis's proc title — so a final sweep can
// find anything the bookkeeping missed without ever touching a process someone else started.
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isRunning,
  type OsUser,
  postgresUser,
  processFamilies,
  processState,
  procTable,
  signalFamilies,
  waitGone,
} from '@failover-lab/lab/testing';

export { type OsUser, postgresUser, processState };

export const ROOT_PREFIX = 'flab-peers-';
const KEPT_MARKER = 'kept';

/** Start time in clock ticks since boot: with the pid, it names one process even after pid reuse. */
export function startTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Processes whose command line names `dir` (config, data dir), with their descendants. */
export function processesUnder(dir: string): number[] {
  const mine = process.pid;
  const roots = procTable()
    .filter((p) => p.pid !== mine && p.state !== 'Z' && cmdline(p.pid).includes(dir))
    .map((p) => p.pid);
  return roots.length ? processFamilies(roots).filter((pid) => pid !== mine) : [];
}

/**
 * The pid in a Postgres data dir's postmaster.pid, if that process still runs this data dir. Patroni
 * starts Postgres detached (it is re-parented to init), so its ancestry does not lead to Patroni.
 */
export function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return pid > 0 && isRunning(pid) && cmdline(pid).includes(dataDir) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface SpawnOptions {
  command: string;
  args: string[];
  logFile: string;
  runAs?: OsUser;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** This run's root dir and the processes started in it. */
export class Processes {
  readonly root: string;
  /** pid → start time, so a pid the kernel gave to someone else after our process died is left alone */
  private readonly leaders = new Map<number, number | undefined>();
  /** killed already: a later kill naming the pid again must not reach whoever has it now */
  private readonly killed = new Set<number>();

  constructor() {
    this.root = mkdtempSync(join(tmpdir(), ROOT_PREFIX));
    chmodSync(this.root, 0o755); // the postgres user must reach its data dirs below
    writeFileSync(join(this.root, 'owner.pid'), String(process.pid));
  }

  /** A detached group leader whose output goes to logFile. */
  spawn(opts: SpawnOptions): ChildProcess {
    const log = openSync(opts.logFile, 'a', 0o644);
    try {
      const child = spawn(opts.command, opts.args, {
        detached: true,
        stdio: ['ignore', log, log],
        env: opts.env ?? process.env,
        cwd: opts.cwd ?? this.root,
        uid: opts.runAs?.uid,
        gid: opts.runAs?.gid,
      });
      child.on('error', () => {}); // a failed start shows up as a readiness timeout naming the log
      if (child.pid === undefined) throw new Error(`could not start ${opts.command} (see ${opts.logFile})`);
      this.leaders.set(child.pid, startTime(child.pid));
      this.killed.delete(child.pid);
      child.unref();
      return child;
    } finally {
      closeSync(log);
    }
  }

  /** Those of `pids` that still are the processes we started (untracked ones: looked up just now). */
  private stillOurs(pids: readonly number[]): number[] {
    return pids.filter((pid) =>
      this.leaders.has(pid) ? this.leaders.get(pid) === startTime(pid) : !this.killed.has(pid),
    );
  }

  /**
   * SIGKILL to the families of these leaders (and of pids looked up just before, e.g. a detached
   * postmaster); resolves once they are gone.
   */
  async kill(pids: readonly number[]): Promise<number[]> {
    const killed = signalFamilies(this.stillOurs(pids), 'SIGKILL');
    for (const pid of pids) {
      this.leaders.delete(pid);
      this.killed.add(pid);
    }
    await waitGone(killed, 10_000);
    return killed;
  }

  /** Everything still running from this root: tracked leaders, then anything naming the root. */
  async killAll(): Promise<void> {
    this.killAllSync();
    await waitGone(processesUnder(this.root), 5_000);
  }

  /** For signal handlers and exit hooks, where nothing can be awaited. */
  killAllSync(): void {
    signalFamilies(this.stillOurs([...this.leaders.keys()]), 'SIGKILL');
    this.leaders.clear();
    const stray = processesUnder(this.root);
    if (stray.length) signalFamilies(stray, 'SIGKILL');
  }

  /** Leaves the root for a post-mortem; a later run's sweep will not delete it. */
  keepRoot(): void {
    writeFileSync(join(this.root, KEPT_MARKER), '');
  }

  removeRoot(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * Roots left by an earlier run that died without cleaning up (SIGKILL, power loss): its processes
 * would still hold the benchmark's addresses. Only roots whose owner process is gone are touched.
 */
export async function sweepAbandonedRoots(): Promise<string[]> {
  const swept: string[] = [];
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(ROOT_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    const ownerFile = join(dir, 'owner.pid');
    const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8')) : 0;
    if (owner > 0 && isRunning(owner)) continue;
    const stray = processesUnder(dir);
    if (stray.length) {
      signalFamilies(stray, 'SIGKILL');
      await waitGone(stray, 5_000);
    }
    if (existsSync(join(dir, KEPT_MARKER))) continue; // kept on purpose (--keep-state)
    rmSync(dir, { recursive: true, force: true });
    swept.push(dir);
  }
  return swept;
}
