// Straight to a cell's app over HTTP (the local lab: every cell listens on its own loopback address).
// The admin token only ever travels in the Authorization header; it is never logged or reported.
import type { RegionName, ServiceName } from '@failover-lab/contracts';
import type { CellAddress } from '@failover-lab/lab';
import { request } from 'undici';
import type { CellAnswer, CellCall } from './backends/backend';
import { assertLoopbackUrl } from './loopback';

export type CellHttp = (service: ServiceName, region: RegionName, call: CellCall) => Promise<CellAnswer>;

export function findCell(cells: CellAddress[], service: ServiceName, region: RegionName): CellAddress {
  const cell = cells.find((c) => c.service === service && c.region === region);
  if (!cell) throw new Error(`no cell ${region}/${service}`);
  return cell;
}

/** Parses a cell's body: JSON when it is JSON, else the text (an error page), null when empty. */
export function parseBody(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function directCellHttp(cells: CellAddress[], adminToken: string, timeoutMs = 3_000): CellHttp {
  for (const cell of cells) assertLoopbackUrl(cell.appUrl);
  return async (service, region, call) => {
    const url = `${findCell(cells, service, region).appUrl}${call.path}`;
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
