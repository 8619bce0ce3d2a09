// The load's HTTP client against a tiny real server on 127.0.0.1: one service's held requests must not
// delay another service's (a shared pool made login 'fail' while the router held messaging requests).
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingClient } from '../src/load/http';

let server: FastifyInstance;
let baseUrl: string;
let releaseHeld: () => void = () => {};
const held = new Promise<void>((resolve) => {
  releaseHeld = resolve;
});

beforeAll(async () => {
  server = Fastify();
  // a service whose requests the router holds through its failover
  server.get('/messaging/held', async () => {
    await held;
    return { ok: true };
  });
  server.get('/login/me', async () => ({ ok: true }));
  baseUrl = await server.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  releaseHeld();
  await server.close();
});

describe('RecordingClient', () => {
  it("answers a service's request while every connection of another service is held", async () => {
    const client = new RecordingClient(baseUrl, { timeoutMs: 5_000, connections: 4 });
    try {
      const messaging = Array.from({ length: 8 }, () =>
        client.call({
          service: 'messaging',
          op: 'read',
          method: 'GET',
          path: '/messaging/held',
          okStatuses: [200],
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      const login = await client.call({
        service: 'login',
        op: 'me',
        method: 'GET',
        path: '/login/me',
        okStatuses: [200],
      });
      // with one shared pool it queued behind the held requests and timed out in the client
      expect(login.record.ok).toBe(true);
      releaseHeld();
      expect((await Promise.all(messaging)).every((r) => r.record.ok)).toBe(true);
    } finally {
      await client.close();
    }
  });
});
