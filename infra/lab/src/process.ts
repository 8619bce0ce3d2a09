// Process plumbing shared by every lab component. Each component is spawned detached so it leads
// its own process group: signalling -pgid reaches the Postgres postmaster AND its backends at once
// (FACTS.md: killing the postmaster alone leaves a backend that still accepts writes).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

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
  const logFd = openSync(opts.logFile, 'a', 0o644);
  try {
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

/** Sends a signal to a whole process group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
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

/** Every live pid whose process group is pgid (scans /proc). */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] = state, [1] = ppid, [2] = pgrp
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(entry));
    } catch {
      // raced with an exit
    }
  }
  return members;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until the group has no live member (zombies excluded) or the deadline passes. */
export async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (groupMembers(pgid).length === 0) return true;
    await sleep(25);
  }
  return groupMembers(pgid).length === 0;
}

/** SIGKILLs a group (thawing it is unnecessary: SIGKILL reaches stopped processes) and waits. */
export async function killGroup(pgid: number, timeoutMs = 5_000): Promise<boolean> {
  signalGroup(pgid, 'SIGKILL');
  return waitGroupGone(pgid, timeoutMs);
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
