// The one record type every load source produces (the built-in generator and the k6 parser in
// src/k6/), and every measurement (RTO, stalls, audit, report) consumes. Agreed with the
// compose/k6 engineer: change it only together.
import type { RegionName, ServiceName } from '@failover-lab/contracts';

/** What the request did. Writes carry a writeId the audit reads back after recovery. */
export type Op =
  | 'signup'
  | 'signin'
  | 'me' // GET /login/me: token check
  | 'revoke' // session revocation (login audit: stays revoked)
  | 'transfer' // POST /payments/transfers with Idempotency-Key = writeId
  | 'balance' // GET /payments/accounts/:id
  | 'send' // POST /messaging/rooms/:room/messages with client id = writeId
  | 'read'; // GET /messaging/rooms/:room/messages

export const WRITE_OPS: ReadonlySet<Op> = new Set<Op>(['signup', 'revoke', 'transfer', 'send']);

/**
 * The ops the router may send a second time (its RETRY_SAFE_ROUTES, docs/security.md): the reads, a
 * transfer with its Idempotency-Key, a message with its client id. A drill holds the platform to
 * answering every one of them through a failover: the router holds them or resends them to the new
 * primary, so a failed one is the platform's fault, not the client's (verdict.ts).
 */
export const RETRY_SAFE_OPS: ReadonlySet<Op> = new Set<Op>(['me', 'balance', 'read', 'transfer', 'send']);

export interface RequestRecord {
  service: ServiceName;
  op: Op;
  /** wall-clock epoch milliseconds (fractions allowed) when the request was sent */
  startMs: number;
  /** wall-clock epoch milliseconds when the response ended or the request failed */
  endMs: number;
  /** HTTP status; 0 = no response (refused, reset, timeout in the client) */
  status: number;
  /** the status was one the op expects (2xx, or a business answer such as 409 insufficient funds) */
  ok: boolean;
  /** x-served-by of the response (the region that answered), null without a response */
  servedBy: RegionName | null;
  /** idempotency key / client message id / user name; null for reads */
  writeId: string | null;
  /** error code from the body (`PAY_ERR_…`) or the transport error (`ECONNREFUSED`), null on success */
  error: string | null;
  /** op details the audit needs to read a write back (room id, from/to/amount); small, no secrets */
  detail?: Record<string, string | number>;
}

/** A write the client was told succeeded: the audit must find it exactly once after recovery. */
export function isAcknowledgedWrite(r: RequestRecord): boolean {
  return r.writeId !== null && WRITE_OPS.has(r.op) && r.status >= 200 && r.status < 300;
}
