// The local lab's cells, reached directly: every cell listens on its own loopback address, so the
// drill calls its admin API over HTTP and reads its Postgres as `app`. The admin token only ever
// travels in the Authorization header and the password never leaves memory; neither is logged.
import type { RegionName, ServiceName } from '@failover-lab/contracts';
import { findCell, type Topology } from '@failover-lab/lab';
import pg from 'pg';
import { request } from 'undici';
import { parseBody } from '../cell-http';
import { WRITES_SINCE } from '../cell-sql';
import { assertLoopbackUrl } from '../loopback';
import type { CellAccess } from './backend';

/** Where the lab's cells are and the secrets to talk to them (the lab's secrets.json; never logged). */
export interface LocalCells {
  topo: Topology;
  adminToken: string;
  appPassword: string;
}

type CellHttp = CellAccess['cellHttp'];
type CellWriteCounter = CellAccess['countCellWrites'];

export function directCellHttp(topo: Topology, adminToken: string, timeoutMs = 3_000): CellHttp {
  for (const cell of topo.cells) assertLoopbackUrl(cell.appUrl);
  return async (service, region, call) => {
    const url = `${findCell(topo, service, region).appUrl}${call.path}`;
    assertLoopbackUrl(url);
    try {
      const response = await request(url, {
        method: call.method,
        headers: {
          authorization: `Bearer ${adminToken}`,
          ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: call.body !== undefined ? JSON.stringify(call.body) : undefined,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      return { status: response.statusCode, body: parseBody(await response.body.text()) };
    } catch (err) {
      return { status: 0, body: null, error: (err as Error).message };
    }
  };
}

/** One query on a cell's Postgres as `app`, on a connection of its own (a dead cell answers fast). */
async function queryCell(
  topo: Topology,
  appPassword: string,
  at: { service: ServiceName; region: RegionName },
  sql: string,
  params: unknown[],
  connectTimeoutMs: number,
): Promise<Record<string, unknown>[]> {
  const cell = findCell(topo, at.service, at.region);
  if (!cell.postgres.host.startsWith('127.')) throw new Error('only loopback Postgres may be read');
  const client = new pg.Client({
    host: cell.postgres.host,
    port: cell.postgres.port,
    user: 'app',
    password: appPassword,
    database: at.service,
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: 5_000,
  });
  // pg also emits a lost connection as an 'error' event; the query's rejection carries it already
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

export function cellWriteCounter(topo: Topology, appPassword: string): CellWriteCounter {
  return async (service, region, since) => {
    const rows = await queryCell(
      topo,
      appPassword,
      { service, region },
      WRITES_SINCE[service],
      [since],
      3_000,
    );
    return Number(rows[0]!.n);
  };
}

/** A query on a cell's Postgres as `app` (the comparison drill's lag, conflict and order checks). */
export function cellQuery(topo: Topology, appPassword: string) {
  return (
    service: ServiceName,
    region: RegionName,
    sql: string,
    params: unknown[] = [],
  ): Promise<Record<string, unknown>[]> =>
    queryCell(topo, appPassword, { service, region }, sql, params, 2_000);
}

export function localCellAccess(access: LocalCells): CellAccess {
  return {
    cellHttp: directCellHttp(access.topo, access.adminToken),
    countCellWrites: cellWriteCounter(access.topo, access.appPassword),
    cellUrl: (service, region) => findCell(access.topo, service, region).appUrl,
  };
}
