// The floor for the router bench (`--bare`): what a proxy of the same shape costs on this machine
// with nothing but node:http and an undici Pool (no routing, metrics, retries or headers work), so the
// router's own share of its CPU per request can be told from Node's and the kernel's.
// BARE_LISTEN=host:port BARE_TARGET=http://cell node --import tsx bare-proxy.ts
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [host, port] = (process.env.BARE_LISTEN ?? '').split(':');
const pool = new Pool(process.env.BARE_TARGET ?? '', { connections: 16, keepAliveTimeout: 30_000 });
process.on('SIGTERM', () => process.exit(0)); // so --cpu-prof writes its profile
createServer(async (req, res) => {
  try {
    const upstream = await pool.request({
      path: req.url ?? '/',
      method: req.method as 'GET',
      headers: { 'x-forwarded-for': req.socket.remoteAddress ?? '' },
    });
    res.writeHead(upstream.statusCode, upstream.headers as Record<string, string>);
    upstream.body.pipe(res);
  } catch {
    res.writeHead(502).end();
  }
}).listen(Number(port), host);
