import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type PostgresWatch, probePostgres, watchPostgres } from '../src/health/postgres-probe';
import { randomSubnet, waitFor } from './helpers/wait';

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

describe('Postgres watch (a held connection: its close is a reason to probe now)', () => {
  let watch: PostgresWatch | null = null;
  afterEach(() => {
    watch?.stop();
    watch = null;
  });

  it('calls back when the server closes an established connection (a killed postmaster), then holds a new one', async () => {
    const held: Socket[] = [];
    const port = await listen((socket) => held.push(socket));
    let closed = 0;
    watch = watchPostgres(host, port, () => closed++, { retryMs: 10 });
    await waitFor('the watch connected', () => held.length === 1, 5_000, 1);
    expect(closed).toBe(0);
    held[0]!.destroy(); // what the kernel does to a SIGKILLed backend's socket
    await waitFor('the close reported', () => closed === 1, 5_000, 1);
    await waitFor('a new connection held', () => held.length === 2, 5_000, 1);
    expect(closed).toBe(1);
  });

  it('a refused connection is not reported (the probes find a dead one themselves); it keeps trying', async () => {
    const port = await listen(() => {});
    await new Promise<void>((r) => server!.close(() => r()));
    server = null;
    let closed = 0;
    watch = watchPostgres(host, port, () => closed++, { retryMs: 10 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closed).toBe(0);
    // the database is back: the watch holds a connection again
    const held: Socket[] = [];
    server = createServer((socket) => {
      sockets.add(socket);
      held.push(socket);
    });
    await new Promise<void>((resolve) => server!.listen(port, host, () => resolve()));
    await waitFor('the watch connected again', () => held.length === 1, 5_000, 1);
    expect(closed).toBe(0);
  });

  it('a connection held a while is replaced at once when it closes; one dropped right away waits retryMs', async () => {
    const held: Socket[] = [];
    const port = await listen((socket) => held.push(socket));
    watch = watchPostgres(host, port, () => {}, { retryMs: 2_000 });
    await waitFor('the watch connected', () => held.length === 1, 5_000, 1);
    await new Promise((resolve) => setTimeout(resolve, 2_100)); // held longer than retryMs
    held[0]!.destroy(); // its backend's authentication_timeout
    await waitFor('replaced well before retryMs', () => held.length === 2, 1_500, 1);
    held[1]!.destroy(); // dropped right after it opened (a dead database behind a relay)
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(held.length).toBe(2); // not yet: retried after retryMs
    await waitFor('retried', () => held.length === 3, 5_000, 1);
  });

  it('stop() closes the connection without a report, for good', async () => {
    const held: Socket[] = [];
    const port = await listen((socket) => held.push(socket));
    let closed = 0;
    watch = watchPostgres(host, port, () => closed++, { retryMs: 10 });
    await waitFor('the watch connected', () => held.length === 1, 5_000, 1);
    const ended = new Promise<void>((resolve) => held[0]!.once('close', () => resolve()));
    watch.stop();
    await ended;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(0);
    expect(held.length).toBe(1);
  });
});
