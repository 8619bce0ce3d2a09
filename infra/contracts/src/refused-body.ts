// Shared by the router, the cells and the console: each refuses bodies over its limit.
import type { IncomingMessage } from 'node:http';

/**
 * Reads and drops the rest of a body refused as too large, so that the answer is not lost.
 *
 * The framework answers an oversized body with `Connection: close`, and Node closes the socket as soon as
 * the answer is written. With the rest of the body still arriving, the kernel then resets the connection;
 * a client still sending (undici under load, any client that reads only after it has sent) gets EPIPE or
 * ECONNRESET, and its 413 is thrown away with the reset. Reading the rest first is nginx's lingering close,
 * done before the answer instead of after it; it is bounded in bytes and time, and a body declared larger
 * than the bound is not read at all (that client gets the reset). 2 s is far more than a body of a few
 * MiB takes over loopback or a LAN, and a slow sender holds no more than that.
 */
export async function drainRefusedBody(req: IncomingMessage, maxBytes: number, maxMs = 2_000): Promise<void> {
  if (req.complete || req.destroyed || Number(req.headers['content-length']) > maxBytes) return;
  await new Promise<void>((resolve) => {
    let seen = 0;
    const done = () => {
      clearTimeout(timer);
      req.off('data', onData).off('end', done).off('error', done).off('close', done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) done();
    };
    const timer = setTimeout(done, maxMs);
    req.on('data', onData).once('end', done).once('error', done).once('close', done);
    req.resume();
  });
}
