// Which requests the router may send twice. Only these are held and retried during a failover; the
// rest fail fast so a client never has a non-idempotent write applied twice behind its back.

import type { IncomingHttpHeaders } from 'node:http';
import { IDEMPOTENCY_KEY_HEADER, type ServiceName } from '@failover-lab/contracts';

const MESSAGE_POST = /^\/messaging\/rooms\/[^/]+\/messages\/?$/;

export function isRetrySafe(
  method: string,
  service: ServiceName,
  path: string,
  headers: IncomingHttpHeaders,
  body: Buffer | undefined,
): boolean {
  if (method === 'GET' || method === 'HEAD') return true;
  const key = headers[IDEMPOTENCY_KEY_HEADER];
  if (typeof key === 'string' && key.length > 0) return true;
  // Messages carry a client-generated id: the service answers a repeat with the original.
  if (service === 'messaging' && method === 'POST' && MESSAGE_POST.test(path) && body && body.length > 0) {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { id?: unknown };
      return typeof parsed?.id === 'string' && parsed.id.length > 0;
    } catch {
      return false;
    }
  }
  return false;
}

export function isWrite(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}

export function wantsEventStream(headers: IncomingHttpHeaders): boolean {
  return String(headers.accept ?? '').includes('text/event-stream');
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Drop hop-by-hop headers, including any the Connection header names (RFC 9110 §7.6.1). */
export function endToEndHeaders(
  headers: Record<string, string | string[] | undefined>,
  alsoDrop: readonly string[] = [],
): Record<string, string | string[]> {
  const named = String(headers.connection ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const drop = new Set([...HOP_BY_HOP, ...named, ...alsoDrop]);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || drop.has(name.toLowerCase())) continue;
    out[name] = value;
  }
  return out;
}
