// What a cell tells the router about itself (docs/contracts.md, "Cell HTTP surface": GET /health/ready).
import type { RegionName, ServiceName } from '@failover-lab/lab';

export type CellRole = 'primary' | 'standby' | 'fenced';

export interface StandbyView {
  name: string;
  state: string | null;
  syncState: string | null;
  lagBytes: number | null;
}

export interface CellReady {
  status: 'ready' | 'not_ready';
  service: string;
  region: string;
  role: CellRole;
  epoch: number;
  fenced: boolean;
  inRecovery: boolean | null;
  walLsn: string | null;
  replicationLagBytes: number | null;
  standbys: StandbyView[];
  synchronousStandbyNames: string | null;
  checks: {
    postgres: { ok: boolean; ms?: number; error?: string };
    redis: { ok: boolean; ms?: number; error?: string };
  };
}

export type { RegionName, ServiceName };

/** Parse a Postgres LSN ("16/B374D848") into a comparable number of bytes. */
export function parseLsn(lsn: string | null | undefined): bigint | null {
  if (typeof lsn !== 'string') return null;
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!match) return null;
  return (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`);
}

/** Accepts whatever JSON a cell answered with and keeps it only if it has the fields the controller reads. */
export function asCellReady(body: unknown): CellReady | null {
  if (typeof body !== 'object' || body === null) return null;
  const b = body as Record<string, unknown>;
  const checks = b.checks as Record<string, { ok?: unknown }> | undefined;
  if (b.role !== 'primary' && b.role !== 'standby' && b.role !== 'fenced') return null;
  if (typeof b.epoch !== 'number') return null;
  if (!checks || typeof checks.postgres?.ok !== 'boolean') return null;
  return {
    status: b.status === 'ready' ? 'ready' : 'not_ready',
    service: String(b.service ?? ''),
    region: String(b.region ?? ''),
    role: b.role,
    epoch: b.epoch,
    fenced: b.fenced === true,
    inRecovery: typeof b.inRecovery === 'boolean' ? b.inRecovery : null,
    walLsn: typeof b.walLsn === 'string' ? b.walLsn : null,
    replicationLagBytes: typeof b.replicationLagBytes === 'number' ? b.replicationLagBytes : null,
    standbys: Array.isArray(b.standbys)
      ? (b.standbys as Record<string, unknown>[]).map((s) => ({
          name: String(s?.name ?? ''),
          state: typeof s?.state === 'string' ? s.state : null,
          syncState: typeof s?.syncState === 'string' ? s.syncState : null,
          lagBytes: typeof s?.lagBytes === 'number' ? s.lagBytes : null,
        }))
      : [],
    synchronousStandbyNames: typeof b.synchronousStandbyNames === 'string' ? b.synchronousStandbyNames : null,
    checks: {
      postgres: checks.postgres as CellReady['checks']['postgres'],
      redis: (typeof checks.redis?.ok === 'boolean'
        ? checks.redis
        : { ok: false }) as CellReady['checks']['redis'],
    },
  };
}

/** synchronous_standby_names lists region names quoted ('"dc-b"') or bare; empty means async. */
export function syncStandbyNamesList(value: string | null | undefined): string[] {
  if (!value) return [];
  // Forms: 'dc-b', '"dc-b"', 'FIRST 1 ("dc-b")', 'ANY 1 (a, b)'. Take the names, drop the method.
  const inner = /\(([^)]*)\)/.exec(value)?.[1] ?? value;
  return inner
    .split(',')
    .map((n) => n.trim().replace(/^"|"$/g, ''))
    .filter((n) => n !== '' && n !== '*');
}
