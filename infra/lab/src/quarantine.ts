// Writes that exist only on a stale primary. After freeze → failover → thaw, the old primary may hold
// rows it committed after the fork (before its fence reached it) that the new primary never got.
// Rebuilding it as a standby erases them; no peer keeps them (docs/fencing.md, "Quarantine"). So
// before restore rebuilds a stale primary, the rows the router's primary lacks are exported,
// per service, to a quarantine file in the lab's state dir: an operator (and the drill's audit) can
// see what was never acknowledged by the surviving history, and an acknowledged write found only
// there is a lost write.

import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
  const file = join(dir, `${stale.service}-${stale.region}-${now.toISOString().replace(/[:.]/g, '-')}.jsonl`);
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
  const { node, postmaster } = startPostgresPrivately(stale);
  hooks.onStarted?.(postmaster);
  try {
    await waitPostgresReady(node, postmaster, PRIVATE_START_TIMEOUT_MS);
    return await quarantineForkedRows(node, current, dir, now);
  } finally {
    await (hooks.stop ? hooks.stop(postmaster, node) : stopPostgresFast(postmaster));
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
