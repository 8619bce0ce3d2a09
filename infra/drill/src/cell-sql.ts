// Straight to a cell's Postgres as the `app` role: the split-brain check reads what the old primary
// holds without going through its (fenced) app. Loopback only; the password never leaves memory.
import type { RegionName, ServiceName } from '@failover-lab/contracts';
import type { CellAddress } from '@failover-lab/lab';
import pg from 'pg';
import { findCell } from './cell-http';

/** Rows each service writes for a client request, by creation time (`$1` = since). */
export const WRITES_SINCE: Record<ServiceName, string> = {
  login:
    'SELECT (SELECT count(*) FROM users WHERE created_at >= $1) + (SELECT count(*) FROM refresh_tokens WHERE created_at >= $1) AS n',
  payments: 'SELECT count(*) AS n FROM transfers WHERE created_at >= $1',
  messaging: 'SELECT count(*) AS n FROM messages WHERE created_at >= $1',
};

/**
 * The same query with `since` written in as a timestamptz literal, for psql -c (which takes no bind
 * parameters). Safe: the literal comes from Date.toISOString(), checked against its exact shape.
 */
export function writesSinceLiteralSql(service: ServiceName, since: Date): string {
  const iso = since.toISOString();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(iso)) throw new Error(`unexpected date ${iso}`);
  return WRITES_SINCE[service].replaceAll('$1', `'${iso}'::timestamptz`);
}

export type CellWriteCounter = (service: ServiceName, region: RegionName, since: Date) => Promise<number>;

export function cellWriteCounter(cells: CellAddress[], appPassword: string): CellWriteCounter {
  return async (service, region, since) => {
    const cell = findCell(cells, service, region);
    if (!cell.postgres.host.startsWith('127.')) throw new Error('only loopback Postgres may be read');
    const client = new pg.Client({
      host: cell.postgres.host,
      port: cell.postgres.port,
      user: 'app',
      password: appPassword,
      database: service,
      connectionTimeoutMillis: 3_000,
      statement_timeout: 5_000,
    });
    // pg also emits a lost connection as an 'error' event; the query's rejection carries it already
    client.on('error', () => {});
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>(WRITES_SINCE[service], [since]);
      return Number(rows[0]!.n);
    } finally {
      await client.end().catch(() => {});
    }
  };
}
