// Every process the benchmark starts, and how it dies. All of them get this run's own root directory
// (a fresh temp dir) in their argv — data dir, config file, Redis's proc title — so a final sweep can
// find anything the bookkeeping missed without ever touching a process someone else started.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
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

export const ROOT_PREFIX = 'flab-peers-';
const KEPT_MARKER = 'kept';

export interface OsUser {
  uid: number;
  gid: number;
}

export function postgresUser(): OsUser {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

interface ProcEntry {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
}

function procTable(): ProcEntry[] {
  const table: ProcEntry[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // after the ')' that closes the command name: state ppid pgrp …
      const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.push({ pid: Number(entry), ppid: Number(ppid), pgrp: Number(pgrp), state: state! });
    } catch {
      // exited while we read
    }
  }
  return table;
}

/**
 * The processes of a group leader and of its descendants. The group alone misses Postgres backends
 * (each calls setsid()) and a backend outliving its postmaster still takes writes for a while — the
 * same walk as the lab's `kill` (infra/lab/src/process.ts), which this folder does not import.
 */
export function processFamily(leaders: readonly number[]): number[] {
  const table = procTable().filter((p) => p.state !== 'Z');
  const roots = new Set(leaders);
  const family = new Set(table.filter((p) => roots.has(p.pid) || roots.has(p.pgrp)).map((p) => p.pid));
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of table) {
      if (!family.has(p.pid) && family.has(p.ppid)) {
        family.add(p.pid);
        grew = true;
      }
    }
  }
  return [...family];
}

function signal(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Start time in clock ticks since boot: with the pid, it names one process even after pid reuse. */
export function startTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return undefined;
  }
}

/** The one-letter state from /proc/<pid>/stat (R, S, T = stopped, Z, …); undefined when gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

export function isRunning(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== 'Z';
}

/**
 * SIGKILL to several families at once. The leaders are stopped first so none can fork a child the
 * scan would miss, and the scan happens before any dies (a dead postmaster's children are
 * re-parented and no longer found by ancestry).
 */
export function killFamilies(leaders: readonly number[]): number[] {
  for (const pid of leaders) signal(pid, 'SIGSTOP');
  const family = processFamily(leaders);
  for (const pid of family) signal(pid, 'SIGKILL');
  return family;
}

export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isRunning)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
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
  return roots.length ? processFamily(roots).filter((pid) => pid !== mine) : [];
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
    const killed = killFamilies(this.stillOurs(pids));
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
    killFamilies(this.stillOurs([...this.leaders.keys()]));
    this.leaders.clear();
    const stray = processesUnder(this.root);
    if (stray.length) killFamilies(stray);
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
      killFamilies(stray);
      await waitGone(stray, 5_000);
    }
    if (existsSync(join(dir, KEPT_MARKER))) continue; // kept on purpose (--keep-state)
    rmSync(dir, { recursive: true, force: true });
    swept.push(dir);
  }
  return swept;
}
