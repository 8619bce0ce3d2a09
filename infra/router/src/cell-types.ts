// What a cell tells the router about itself is the contract's CellReadiness (GET /health/ready and
// /admin/state); here, only how the router reads it.
import { type CellReadiness, CellReadinessSchema } from '@failover-lab/contracts';
import { Compile } from 'typebox/compile';

const readiness = Compile(CellReadinessSchema);

/** The body a cell answered, if it is a readiness report; null for anything else (an error page). */
export function readReadiness(body: unknown): CellReadiness | null {
  return readiness.Check(body) ? body : null;
}

/** Parse a Postgres LSN ("16/B374D848") into a comparable number of bytes. */
export function parseLsn(lsn: string | null | undefined): bigint | null {
  if (typeof lsn !== 'string') return null;
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!match) return null;
  return (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`);
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
