// The HTTP probe against a real socket that accepts and never answers (a frozen cell), with the
// router's own event loop either free or stalled past the probe's timeout.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpProbe } from '../src/health/prober';

let server: Server;
let url: string;
const agent = new Agent({ connections: 4 });

beforeAll(async () => {
  server = createServer(() => {}); // accepts, reads the request, never answers
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await agent.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function stallEventLoop(ms: number) {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: no timer can fire, as on a starved router
  }
}

describe('httpProbe on a cell that never answers', () => {
  it('a timeout noticed on time is a failure, named by a string', async () => {
    // 500 ms: only a stall of another 500 ms on this machine would make it look late
    const result = await httpProbe(agent)(url, 500);
    expect(result.ok).toBe(false);
    expect(typeof result.error).toBe('string');
    expect(result.error).toMatch(/Timeout|TIMEOUT/);
    expect(result.inconclusive).toBeUndefined();
  });

  it('a timeout noticed long after it was due (our own loop stalled) proves nothing', async () => {
    const probing = httpProbe(agent)(url, 100);
    stallEventLoop(400);
    const result = await probing;
    expect(result.ok).toBe(false);
    expect(typeof result.error).toBe('string');
    expect(result.inconclusive).toBe(true);
  });
});
