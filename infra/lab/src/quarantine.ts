// Writes that exist only on a stale primary. After freeze → failover → thaw, the old primary may hold
// rows it committed after the fork (before its fence reached it) that the new primary never got.
// Rebuilding it as a standby erases them; no peer keeps them (docs/fencing.md, "Quarantine"). So
// before restore rebuilds a stale primary, the rows the router's primary lacks are exported,
// per service, to a quarantine file in the lab's state dir: an operator (and the drill's audit) can
// see what was never acknowledged by the surviving history, and an acknowledged write found only
// there is a lost write.

import type { ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { FORK_KEYS } from '@failover-lab/contracts';
import {
  type OnStarted,
  type PostgresNode,
  startPostgresPrivately,
  stopPostgresFast,
  superuserQuery,
  waitPostgresReady,
} from './datastores/postgres';

/** What identifies a write, per service (the contract's, shared with the compose entrypoint). */
export { FORK_KEYS };

/** a file-name-safe moment */
const stamp = (now: Date) => now.toISOString().replace(/[:.]/g, '-');

export interface QuarantineResult {
  /** null when nothing was forked (no file is written) */
  file: string | null;
  rows: number;
  byTable: Record<string, number>;
}

async function keysOf(node: PostgresNode, table: string, key: string): Promise<Set<string> | null> {
  const exists = await superuserQuery<{ ok: boolean }>(
    node,
    'SELECT to_regclass($1) IS NOT NULL AS ok',
    [table],
    {
      database: node.service,
    },
  );
  if (!exists[0]?.ok) return null;
  // identifiers from FORK_KEYS, not input
  const rows = await superuserQuery<{ k: string }>(node, `SELECT ${key}::text AS k FROM ${table}`, [], {
    database: node.service,
  });
  return new Set(rows.map((r) => r.k));
}

/**
 * Exports the rows `stale` holds that `current` lacks, one JSON line each
 * (`{service, table, key, row}`), to `<dir>/<service>-<stale region>-<time>.jsonl`.
 */
export async function quarantineForkedRows(
  stale: PostgresNode,
  current: PostgresNode,
  dir: string,
  now = new Date(),
): Promise<QuarantineResult> {
  const lines: string[] = [];
  const byTable: Record<string, number> = {};
  for (const { table, key } of FORK_KEYS[stale.service]) {
    const [staleKeys, currentKeys] = [await keysOf(stale, table, key), await keysOf(current, table, key)];
    if (!staleKeys) continue;
    const forked = [...staleKeys].filter((k) => !currentKeys?.has(k));
    byTable[table] = forked.length;
    if (forked.length === 0) continue;
    const rows = await superuserQuery<{ k: string; row: unknown }>(
      stale,
      `SELECT ${key}::text AS k, to_jsonb(t) AS row FROM ${table} t WHERE ${key}::text = ANY($1::text[]) ORDER BY 1`,
      [forked],
      { database: stale.service },
    );
    for (const r of rows) lines.push(JSON.stringify({ service: stale.service, table, key: r.k, row: r.row }));
  }
  if (lines.length === 0) return { file: null, rows: 0, byTable };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${stale.service}-${stale.region}-${stamp(now)}.jsonl`);
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return { file, rows: lines.length, byTable };
}

/** how long a stopped old primary may take to start privately (its crash recovery, at load) */
const PRIVATE_START_TIMEOUT_MS = 90_000;

/**
 * quarantineForkedRows for a stale primary that is not running (killed, or frozen and then killed):
 * a region kill takes an async service's last acknowledged writes, or everything after a cut
 * replication link, down with it, and its standby never got them. It is started privately
 * (startPostgresPrivately: no TCP, a socket only this call knows; its crash recovery runs there),
 * read exactly as a running one, and shut down fast, ready for pg_rewind. `onStarted`/`stop` let the
 * lab track the postmaster meanwhile and stop it its own way.
 */
export async function quarantineStoppedPrimary(
  stale: PostgresNode,
  current: PostgresNode,
  dir: string,
  hooks: {
    onStarted?: OnStarted;
    /** `node`: the private server's address (its socket dir) */
    stop?: (postmaster: ChildProcess, node: PostgresNode) => Promise<void>;
  } = {},
  now = new Date(),
): Promise<QuarantineResult> {
  const logFrom = existsSync(stale.logFile) ? statSync(stale.logFile).size : 0;
  const { node, postmaster } = startPostgresPrivately(stale);
  hooks.onStarted?.(postmaster);
  try {
    try {
      await waitPostgresReady(node, postmaster, PRIVATE_START_TIMEOUT_MS);
    } catch (err) {
      // "exited (code 1) while waiting…" says nothing of why: the server's own FATAL line does
      const fatal = firstFatalSince(stale.logFile, logFrom);
      throw new Error(`its private start failed: ${fatal ?? (err as Error).message.split('\n')[0]}`);
    }
    return await quarantineForkedRows(node, current, dir, now);
  } finally {
    await (hooks.stop ? hooks.stop(postmaster, node) : stopPostgresFast(postmaster));
  }
}

/** The first FATAL or PANIC line Postgres wrote to `logFile` after byte `from`, without its prefix. */
function firstFatalSince(logFile: string, from: number): string | null {
  let text: string;
  try {
    const fd = openSync(logFile, 'r');
    try {
      const size = statSync(logFile).size;
      const buf = Buffer.alloc(Math.max(0, Math.min(size - from, 64 * 1024)));
      readSync(fd, buf, 0, buf.length, from);
      text = buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
  const line = text.split('\n').find((l) => /\b(FATAL|PANIC):/.test(l));
  return line ? line.slice(line.search(/\b(FATAL|PANIC):/)).replace(/\s+/g, ' ') : null;
}

/** What restore and a warm `up` found on a stale primary before rebuilding it. */
export interface ForkedRowsRead {
  kept: QuarantineResult | null;
  /** the answer's words, after how the node rejoined: "read while stopped in 0.9 s", "1 forked row(s) quarantined in …" */
  notes: string[];
}

/** Says a read's outcome in the lab's log and in the words the answer carries. */
export function reportForkedRows(
  log: (line: string) => void,
  stale: PostgresNode,
  kept: QuarantineResult,
  notes: string[] = [],
): ForkedRowsRead {
  if (kept.file) {
    const said = `${kept.rows} forked row(s) quarantined in ${kept.file}`;
    log(`${stale.service}/${stale.region}: ${said}`);
    notes.push(said);
  }
  return { kept, notes };
}

/**
 * Restore's and a warm `up`'s read of a stale primary that is not running (quarantineStoppedPrimary),
 * said in the log and the answer. A data dir that cannot be read is said loudly rather than refused:
 * the node is still rebuilt (docs/fencing.md says why).
 */
export async function readStoppedStalePrimary(
  lab: { log: (line: string) => void; quarantineDir: string },
  stale: PostgresNode,
  current: PostgresNode,
  hooks: Parameters<typeof quarantineStoppedPrimary>[3],
): Promise<ForkedRowsRead> {
  const t0 = Date.now();
  const label = `${stale.service}/${stale.region}`;
  try {
    const kept = await quarantineStoppedPrimary(stale, current, lab.quarantineDir, hooks);
    const took = `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    lab.log(`${label}: read the stopped old primary privately in ${took}`);
    return reportForkedRows(lab.log, stale, kept, [`read while stopped in ${took}`]);
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0];
    // The rows are not read, but not destroyed either: the data dir is moved aside whole (a rename,
    // no copy), and the node is rebuilt from a fresh base backup in its place.
    const kept = join(lab.quarantineDir, `${stale.service}-${stale.region}-${stamp(new Date())}.pgdata`);
    let where: string;
    try {
      mkdirSync(lab.quarantineDir, { recursive: true, mode: 0o700 });
      renameSync(stale.dataDir, kept);
      where = `its data dir is kept in ${kept}`;
    } catch (moveErr) {
      where = `its data dir could not be kept either (${(moveErr as Error).message})`;
    }
    lab.log(`${label}: the stopped old primary could NOT be read (${reason}); ${where}`);
    return { kept: null, notes: [`its forked rows could NOT be read: ${reason}`, where] };
  }
}

/** The quarantine files in `dir`, for `lab status`: which service, how many rows. */
export function listQuarantine(dir: string): { file: string; service: string; rows: number }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.jsonl'))
    .sort()
    .map((name) => {
      const file = join(dir, name);
      const rows = readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '').length;
      return { file, service: name.split('-')[0]!, rows };
    });
}
