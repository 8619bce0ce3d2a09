// For tests: an HTTP client that reads its answer only once it has sent its whole body, as undici does
// under load and as many simple clients always do. A server that closes with part of a body unread makes
// the kernel reset the connection, and such a client loses the answer; this client shows it.
import { connect } from 'node:net';

/**
 * POSTs `bytes` bytes to `url` (declared with Content-Length, or streamed chunked), writing all of them
 * before reading anything. Resolves to `"<status line> <error code>"`, or `"<what was read> / <error>"`
 * when the connection failed.
 */
export function postWholeBodyThenRead(
  url: string,
  bytes: number,
  opts: { chunked?: boolean; headers?: Record<string, string> } = {},
): Promise<string> {
  const { hostname, port, pathname } = new URL(url);
  const piece = Buffer.alloc(64 * 1024, 'a');
  const chunks: Buffer[] = [];
  for (let left = bytes; left > 0; left -= piece.length) {
    const part = left >= piece.length ? piece : piece.subarray(0, left);
    chunks.push(
      opts.chunked
        ? Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')])
        : part,
    );
  }
  if (opts.chunked) chunks.push(Buffer.from('0\r\n\r\n'));
  const headers = {
    host: hostname,
    'content-type': 'application/json',
    ...(opts.chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(bytes) }),
    ...opts.headers,
  };
  const head = `POST ${pathname} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.pause();
    let data = '';
    socket.on('data', (c: Buffer) => {
      data += c.toString('latin1');
    });
    socket.on('error', (err) => resolve(`${data.split('\r\n')[0]} / ${err.message}`));
    socket.on('close', () => resolve(`${data.split('\r\n')[0]} ${/"code":"([A-Z_]+)"/.exec(data)?.[1]}`));
    void (async () => {
      socket.write(head);
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
      }
      socket.resume();
    })();
  });
}
