// Is a cell's Postgres alive even though its app does not answer? A crashed app is restarted in place
// by its supervisor (seconds); only a lost data tier or region is a reason to fail over
// (docs/architecture.md).
// Speaks just enough of the protocol to tell a live postmaster from a dead or frozen one: an SSLRequest
// gets a one-byte answer ('S' or 'N') from a live server; a frozen one accepts the TCP connection
// (the kernel does) but never answers.
import { connect } from 'node:net';
import type { LookupFn } from './name-cache';

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]); // length 8, code 80877103

export function probePostgres(
  host: string,
  port: number,
  timeoutMs: number,
  lookup?: LookupFn,
): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, ...(lookup ? { lookup } : {}) });
    let settled = false;
    const done = (alive: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(alive);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => socket.write(SSL_REQUEST));
    socket.once('data', (chunk) => done(chunk[0] === 0x53 || chunk[0] === 0x4e));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}
