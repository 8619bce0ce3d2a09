import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probePostgres } from '../src/health/postgres-probe';
import { randomSubnet } from './helpers/wait';

const host = `127.${randomSubnet()}.9.9`;
let server: Server | null = null;
const sockets = new Set<Socket>();
const listen = (onConnection: (socket: Socket) => void) =>
  new Promise<number>((resolve) => {
    server = createServer((socket) => {
      sockets.add(socket);
      onConnection(socket);
    });
    server.listen(0, host, () => resolve((server!.address() as { port: number }).port));
  });
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

describe('Postgres protocol probe', () => {
  it("alive: answers an SSLRequest with one byte ('N')", async () => {
    const port = await listen((socket) => socket.once('data', () => socket.write('N')));
    expect(await probePostgres(host, port, 1000)).toBe('alive');
  });
  it('dead: connection refused', async () => {
    const port = await listen(() => {});
    await new Promise<void>((r) => server!.close(() => r()));
    server = null;
    expect(await probePostgres(host, port, 1000)).toBe('refused');
  });
  it('frozen: accepts the connection, never answers', async () => {
    const port = await listen(() => {});
    expect(await probePostgres(host, port, 200)).toBe('silent');
  });
  it('dead mid-way: accepts, then closes without answering (a postmaster killed under us)', async () => {
    const port = await listen((socket) => socket.once('data', () => socket.destroy()));
    expect(await probePostgres(host, port, 1000)).toBe('refused');
  });
});
