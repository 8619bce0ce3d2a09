// Is a cell's Postgres alive even though its app does not answer? A crashed app is restarted in place
// by its supervisor (seconds); only a lost data tier or region is a reason to fail over
// (docs/architecture.md).
// Speaks just enough of the protocol to tell a live postmaster from a dead or frozen one: an SSLRequest
// gets a one-byte answer ('S' or 'N') from a live server; a frozen one accepts the TCP connection
// (the kernel does) but never answers; a dead one's address refuses it (or resets it) at once.
import { connect, type Socket } from 'node:net';
import type { LookupFn } from './name-cache';

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]); // length 8, code 80877103

/**
 * alive: a postmaster answered. refused: nothing listens there any more (refused, or reset/closed
 * without an answer): the process is gone, which no slowness can fake. silent: no answer in time
 * (frozen, overloaded or far away): proves nothing either way.
 */
export type PostgresVerdict = 'alive' | 'refused' | 'silent';

export function probePostgres(
  host: string,
  port: number,
  timeoutMs: number,
  lookup?: LookupFn,
): Promise<PostgresVerdict> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, ...(lookup ? { lookup } : {}) });
    let settled = false;
    const done = (verdict: PostgresVerdict) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(verdict);
    };
    const timer = setTimeout(() => done('silent'), timeoutMs);
    socket.once('connect', () => socket.write(SSL_REQUEST));
    // Something answered, if not a postmaster's SSL byte: not proof of a dead one.
    socket.once('data', (chunk) => done(chunk[0] === 0x53 || chunk[0] === 0x4e ? 'alive' : 'silent'));
    socket.once('error', (err: Error & { code?: string }) =>
      done(err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET' ? 'refused' : 'silent'),
    );
    // Closed before any answer: the postmaster (or, behind a TCP relay, whatever it relays to) is gone.
    socket.once('close', () => done('refused'));
  });
}

/** A held connection to a cell's Postgres (watchPostgres): stop() closes it for good. */
export interface PostgresWatch {
  stop(): void;
}

export type PostgresWatchFn = (host: string, port: number, onClosed: () => void) => PostgresWatch;

/**
 * Holds one idle TCP connection to a cell's Postgres and calls `onClosed` when an established one is
 * closed or reset: a killed postmaster's children die with it and the kernel closes their sockets at
 * once, so the router hears of a dead database the moment the cell's own pools do, instead of at its
 * next probe. It is only a reason to probe now: a close is no verdict (the backend that holds it also
 * ends by itself after authentication_timeout, a relay may drop it), the probes' rules decide. A
 * frozen or cut-off Postgres keeps it open and silent, which changes nothing. Nothing is sent: the
 * backend waits for a startup packet and ends quietly when none comes. Reconnects at once after a
 * connection held at least `retryMs`, else `retryMs` after the close or the failed attempt.
 */
export function watchPostgres(
  host: string,
  port: number,
  onClosed: () => void,
  options: { retryMs: number; lookup?: LookupFn },
): PostgresWatch {
  let stopped = false;
  let socket: Socket | null = null;
  let timer: NodeJS.Timeout | null = null;
  const open = () => {
    timer = null;
    if (stopped) return;
    const s = connect({ host, port, ...(options.lookup ? { lookup: options.lookup } : {}) });
    socket = s;
    let established = false;
    let openedAt = 0;
    s.setNoDelay(true);
    s.unref();
    s.once('connect', () => {
      established = true;
      openedAt = performance.now();
    });
    // a watch never reads (a backend in its startup phase sends nothing); any byte is dropped
    s.on('data', () => {});
    s.on('error', () => {});
    s.once('close', () => {
      if (socket === s) socket = null;
      if (stopped) return;
      if (established) onClosed();
      // One that was held a while (its backend's authentication_timeout) is replaced at once, so the
      // watch is never away for long; one that closed soon after it opened (a dead database behind a
      // relay accepts, then drops it) or never opened is retried after retryMs.
      const heldLong = established && performance.now() - openedAt >= options.retryMs;
      timer = setTimeout(open, heldLong ? 0 : options.retryMs);
      timer.unref();
    });
  };
  open();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      socket?.destroy();
      socket = null;
    },
  };
}
