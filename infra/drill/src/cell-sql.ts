// What the split-brain check counts in a cell's Postgres (read as the `app` role, past its fenced app):
// the rows each service writes for a client request. Both backends run these queries.
import type { ServiceName } from '@failover-lab/contracts';

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
