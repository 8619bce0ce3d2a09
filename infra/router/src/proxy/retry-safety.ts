// Which requests the router may send a second time. A request that may have reached a primary which
// then died is resent to the new one only when its route makes a repeat harmless; everything else
// gets its error. (Holding is not retrying: a request not yet sent is held through a failover and
// sent once to the new primary whatever its route — retry-policy.ts.)
//
// The rules are ONE table, RETRY_SAFE_ROUTES: the proxy reads it, and docs/security.md carries it
// rendered by retrySafetyTable() (a test compares the two). A header alone never makes a request safe:
// an Idempotency-Key on `POST /login/sessions/refresh` would rotate a refresh token twice and trip
// reuse detection, revoking the user's sessions.

import type { IncomingHttpHeaders } from 'node:http';
import { IDEMPOTENCY_KEY_HEADER, type ServiceName } from '@failover-lab/contracts';

export interface RetrySafeRoute {
  methods: readonly string[];
  /** the service, or '*' for all */
  service: ServiceName | '*';
  /** as documented */
  path: string;
  match: RegExp;
  /** what the request must carry for a repeat to be answered from the first attempt's outcome */
  requires: 'nothing' | 'idempotency-key' | 'body-id';
  why: string;
}

export const RETRY_SAFE_ROUTES: readonly RetrySafeRoute[] = [
  {
    methods: ['GET', 'HEAD'],
    service: '*',
    path: '/<service>/…',
    match: /^\/[a-z]+(\/.*)?$/,
    requires: 'nothing',
    why: 'reads change nothing',
  },
  {
    methods: ['POST'],
    service: 'payments',
    path: '/payments/transfers',
    match: /^\/payments\/transfers\/?$/,
    requires: 'idempotency-key',
    why: 'a repeat with the same key (and caller) is answered with the stored outcome',
  },
  {
    methods: ['POST'],
    service: 'messaging',
    path: '/messaging/rooms/:room/messages',
    match: /^\/messaging\/rooms\/[^/]+\/messages\/?$/,
    requires: 'body-id',
    why: 'a repeat with the same client message id is answered with the stored message',
  },
];

const REQUIRES_TEXT: Record<RetrySafeRoute['requires'], string> = {
  nothing: '—',
  'idempotency-key': '`Idempotency-Key` header',
  'body-id': 'JSON body with a string `id`',
};

/** The table as markdown, exactly as docs/security.md shows it. */
export function retrySafetyTable(): string {
  const rows = RETRY_SAFE_ROUTES.map(
    (r) =>
      `| ${r.methods.join(', ')} | ${r.service === '*' ? 'all' : r.service} | \`${r.path}\` | ${REQUIRES_TEXT[r.requires]} | ${r.why} |`,
  );
  return [
    '| method | service | path | requires | why a repeat is safe |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function carries(requires: RetrySafeRoute['requires'], headers: IncomingHttpHeaders, body?: Buffer): boolean {
  if (requires === 'nothing') return true;
  if (requires === 'idempotency-key') {
    const key = headers[IDEMPOTENCY_KEY_HEADER];
    return typeof key === 'string' && key.length > 0;
  }
  if (!body || body.length === 0) return false;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { id?: unknown } | null;
    return typeof parsed?.id === 'string' && parsed.id.length > 0;
  } catch {
    return false;
  }
}

/** May this request be sent again after an attempt that may have reached the cell? */
export function isRetrySafe(
  method: string,
  service: ServiceName,
  path: string,
  headers: IncomingHttpHeaders,
  body: Buffer | undefined,
): boolean {
  return RETRY_SAFE_ROUTES.some(
    (r) =>
      r.methods.includes(method) &&
      (r.service === '*' || r.service === service) &&
      r.match.test(path) &&
      carries(r.requires, headers, body),
  );
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

/** Connection values that name no header to drop: the set of hop-by-hop headers is then a constant. */
const PLAIN_CONNECTION = /^\s*(keep-alive|close)?\s*$/i;
const dropSets = new WeakMap<readonly string[], ReadonlySet<string>>();
const NO_EXTRA: readonly string[] = [];

/**
 * Drop hop-by-hop headers, including any the Connection header names (RFC 9110 §7.6.1). Runs twice
 * per proxied request: the set of names to drop is built once per `alsoDrop` list, not per call.
 */
export function endToEndHeaders(
  headers: Record<string, string | string[] | undefined>,
  alsoDrop: readonly string[] = NO_EXTRA,
): Record<string, string | string[]> {
  let drop = dropSets.get(alsoDrop);
  if (!drop) {
    drop = new Set([...HOP_BY_HOP, ...alsoDrop.map((h) => h.toLowerCase())]);
    dropSets.set(alsoDrop, drop);
  }
  const connection = headers.connection;
  if (connection !== undefined && !(typeof connection === 'string' && PLAIN_CONNECTION.test(connection))) {
    const named = String(connection)
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean);
    drop = new Set([...drop, ...named]);
  }
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || drop.has(name.toLowerCase())) continue;
    out[name] = value;
  }
  return out;
}
