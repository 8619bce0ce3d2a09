// Process plumbing shared by every lab component. Each component is spawned detached so it leads
// its own process group; a kill or freeze reaches its whole family (group plus descendants), since
// Postgres backends lead sessions of their own and outlive a killed postmaster (docs/facts.md,
// "Killing a postmaster").
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, fchmodSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

export interface OsUser {
  uid: number;
  gid: number;
}

let postgresUserCache: OsUser | undefined;

/** The `postgres` OS user: Postgres refuses to run as root. */
export function postgresUser(): OsUser {
  if (postgresUserCache) return postgresUserCache;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    postgresUserCache = { uid, gid };
    return postgresUserCache;
  } catch {
    throw new Error('OS user "postgres" not found: run `npm run lab -- setup` (installs postgresql)');
  }
}

/** Root must drop to the postgres user; anyone else runs Postgres as themselves. */
export function runAsForPostgres(): OsUser | undefined {
  return process.getuid?.() === 0 ? postgresUser() : undefined;
}

export interface SpawnGroupOptions {
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  runAs?: OsUser;
}

/** Starts a detached process group leader whose stdout/stderr append to logFile. */
export function spawnGroup(opts: SpawnGroupOptions): ChildProcess {
  // Logs carry what other local users must not read (statements, addresses, errors): 0600, also for a
  // file an older lab created more open.
  const logFd = openSync(opts.logFile, 'a', 0o600);
  try {
    fchmodSync(logFd, 0o600);
    const child = spawn(opts.command, opts.args, {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      uid: opts.runAs?.uid,
      gid: opts.runAs?.gid,
    });
    child.on('error', () => {}); // reported below or by the readiness wait naming the log file
    if (child.pid === undefined) {
      // spawn reports ENOENT asynchronously; make the failure synchronous and readable.
      throw new Error(`could not start ${opts.command} (see ${opts.logFile})`);
    }
    return child;
  } finally {
    closeSync(logFd);
  }
}

/** Runs a command to completion (as another user when asked); rejects with its output on failure. */
export function runToCompletion(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; runAs?: OsUser; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      uid: opts.runAs?.uid,
      gid: opts.runAs?.gid,
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? code}):\n${output.trim()}`));
    });
  });
}

export const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

export interface ProcEntry {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
}

/** Every process on the machine, from one read of /proc. */
export function procTable(): ProcEntry[] {
  const table: ProcEntry[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // after the ')' closing the command name: state ppid pgrp …
      const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.push({ pid: Number(entry), ppid: Number(ppid), pgrp: Number(pgrp), state: state! });
    } catch {
      // raced with an exit
    }
  }
  return table;
}

/**
 * A component's processes: its process group plus every descendant. The group alone is not
 * enough: each Postgres backend calls setsid() and leads a group of its own, and a backend whose
 * postmaster died still accepts writes for a while (docs/facts.md). Zombies are left out.
 */
export function processFamily(leader: number): number[] {
  return processFamilies([leader]);
}

/** The families of several leaders from one scan of /proc (a scan costs tens of ms on a busy machine). */
export function processFamilies(leaders: readonly number[]): number[] {
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

function trySignal(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export function signalPids(pids: number[], signal: NodeJS.Signals) {
  for (const pid of pids) trySignal(pid, signal);
}

/**
 * Signals a component's whole family at once and returns the pids it reached. For SIGKILL and
 * SIGSTOP the leader is stopped first, so it cannot fork a child the scan would miss (and once
 * the postmaster is dead its children are re-parented, so they must be found before).
 */
export function signalFamily(leader: number, signal: NodeJS.Signals): number[] {
  if (signal === 'SIGKILL' || signal === 'SIGSTOP') trySignal(leader, 'SIGSTOP');
  const family = processFamily(leader);
  for (const pid of family) trySignal(pid, signal);
  return family;
}

/**
 * signalFamily for several components at the same instant: every leader is stopped first, then one
 * scan of /proc finds every family. A scan costs tens of ms on a busy machine; one per component would
 * spread a region's death over a second, which no real fire does (and which the detection time of a
 * region kill would then measure).
 */
export function signalFamilies(leaders: readonly number[], signal: 'SIGKILL' | 'SIGSTOP'): number[] {
  for (const leader of leaders) trySignal(leader, 'SIGSTOP');
  const pids = processFamilies(leaders);
  for (const pid of pids) trySignal(pid, signal);
  return pids;
}

/** Alive and not a zombie. */
export function isRunning(pid: number): boolean {
  return isAlive(pid) && processState(pid) !== 'Z';
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else; still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The one-letter state from /proc/<pid>/stat (R, S, T for stopped, Z, …), or undefined if gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces; the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

export function isStopped(pid: number): boolean {
  const state = processState(pid);
  return state === 'T' || state === 't';
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until none of pids runs (zombies count as gone) or the deadline passes. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isRunning)) {
    if (Date.now() >= deadline) return false;
    await sleep(25);
  }
  return true;
}

/** SIGKILLs a component's family (SIGKILL reaches stopped processes too) and waits for it. */
export async function killFamily(leader: number, timeoutMs = 5_000): Promise<boolean> {
  return waitGone(signalFamily(leader, 'SIGKILL'), timeoutMs);
}

/** Polls `probe` until it resolves true; rejects with `what` after timeoutMs. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 50,
  /** a process whose exit makes waiting pointless (fail fast instead of timing out) */
  watched?: ChildProcess,
) {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (watched && hasExited(watched)) {
      throw new Error(
        `exited (${watched.signalCode ?? `code ${watched.exitCode}`}) while waiting for ${what}`,
      );
    }
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(everyMs);
  }
  const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`);
}

/** Kernel start time of a process (clock ticks since boot), to tell it from a later pid reuse. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

interface PidRecord {
  pid: number;
  startTime: string | undefined;
}

/** Records a process group leader so `down` can clean up even when the supervisor is gone. */
export function writePidFile(file: string, pid: number) {
  const record: PidRecord = { pid, startTime: processStartTime(pid) };
  writeFileSync(file, `${JSON.stringify(record)}\n`);
}

/** The pid in a pid file, only if that very process (same start time) is still alive. */
export function livePidFromFile(file: string): number | undefined {
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
    if (record.startTime && processStartTime(record.pid) === record.startTime) return record.pid;
  } catch {
    // missing or half-written: nothing to clean up
  }
  return undefined;
}
