// What the data plane does next with a request, as a pure function of where it stands: send it,
// wait for a primary, ask the prober about the cell, send it again, hand the answer over, or fail.
// The proxy (proxy.ts) only performs the steps; every rule of when a request may be sent twice is
// here and tested as a table (test/retry-policy.test.ts), like decide().
import type { RouterErrorCode } from '../errors';
import type { RequestOutcome } from '../metrics';

/** The router stopped waiting for a frozen or dead primary and cut the request loose. */
export const ABORTED_CELL_DOWN = 'ABORTED_CELL_DOWN';

export type Situation =
  /** before an attempt: the service's current route (after waiting for one, when `waited`) */
  | {
      at: 'route';
      /** a primary is routed to and serving */
      serving: boolean;
      /** the route is newer than the one the last attempt failed on */
      newer: boolean;
      write: boolean;
      refuseWrites: boolean;
      waited: boolean;
    }
  /** the attempt got no answer */
  | {
      at: 'error';
      /** the request may be sent twice (reads, idempotency key, client message id) */
      safe: boolean;
      /** the connection was never established: the cell cannot have seen the request */
      notSent: boolean;
      timeout: boolean;
      code: string;
      /** out of attempts or past the hold time */
      lastTry: boolean;
    }
  /** the cell answered */
  | { at: 'response'; status: number; safe: boolean; lastTry: boolean; bufferable: boolean }
  /** the prober's verdict on the cell after a failed attempt or a 5xx */
  | { at: 'recheck'; verdict: 'up' | 'down'; after: 'error' | 'response'; bodyLost?: boolean };

export type Step =
  | { do: 'send' }
  | { do: 'wait_for_primary' }
  /** ask the prober whether the cell is down before deciding (a 5xx is held in a buffer meanwhile) */
  | { do: 'recheck' }
  /** send again; on a newer route than the failed one when the cell is down */
  | { do: 'resend'; newerRoute: boolean }
  | { do: 'deliver' }
  /** the cell is up: its 5xx is the answer */
  | { do: 'deliver_buffered' }
  | { do: 'fail'; code: RouterErrorCode; outcome: RequestOutcome; message?: string };

export function nextStep(s: Situation): Step {
  switch (s.at) {
    case 'route':
      if (!s.serving || !s.newer) {
        if (s.waited) {
          return {
            do: 'fail',
            code: 'ROUTER_ERR_NO_PRIMARY',
            outcome: 'no_primary',
            message: 'no primary within the hold time',
          };
        }
        // Holding is not retrying: whatever gets here was never sent, or failed in a way that lets it be
        // sent again (the 'error' rule below), so it waits for the new primary, bounded by the hold time.
        return { do: 'wait_for_primary' };
      }
      if (s.write && s.refuseWrites) {
        return { do: 'fail', code: 'ROUTER_ERR_SYNC_STANDBY_LOST', outcome: 'sync_standby_lost' };
      }
      return { do: 'send' };
    case 'error':
      if (!(s.safe || s.notSent) || s.lastTry) {
        if (s.timeout) return { do: 'fail', code: 'ROUTER_ERR_UPSTREAM_TIMEOUT', outcome: 'timeout' };
        return {
          do: 'fail',
          code: 'ROUTER_ERR_NO_PRIMARY',
          outcome: 'connection_error',
          message: `primary unreachable (${s.code})`,
        };
      }
      // Cut loose because the cell was confirmed down: no need to ask again.
      return s.code === ABORTED_CELL_DOWN ? { do: 'resend', newerRoute: true } : { do: 'recheck' };
    case 'response':
      // A 5xx on a safe request may be a database that just died: ask before handing it over. Big
      // bodies and event streams pass through as they are (they are not held for a resend).
      if (s.status >= 500 && s.safe && !s.lastTry && s.bufferable) return { do: 'recheck' };
      return { do: 'deliver' };
    case 'recheck':
      if (s.after === 'error') return { do: 'resend', newerRoute: s.verdict === 'down' };
      return s.verdict === 'down' || s.bodyLost
        ? { do: 'resend', newerRoute: true }
        : { do: 'deliver_buffered' };
  }
}
