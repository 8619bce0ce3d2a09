// Arrival counts of the open-model generator against a tiny real server on 127.0.0.1. Counts only:
// no timing assertions (the machine is shared and slow).
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingClient } from '../src/load/http';
import { runOpenModel } from '../src/load/open-model';
import type { RequestRecord } from '../src/records';

let server: FastifyInstance;
let baseUrl: string;
let hits = 0;
let release: (() => void) | null = null;
let hang: Promise<void> | null = null;

beforeAll(async () => {
  server = Fastify();
  server.get('/fast', async () => {
    hits++;
    return { ok: true };
  });
  server.get('/hang', async () => {
    hits++;
    await hang;
    return { ok: true };
  });
  baseUrl = await server.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  release?.();
  await server.close();
});

describe('runOpenModel', () => {
  it('keeps arrivals coming when the duration is extended during the run (a long fault injection)', async () => {
    let durationMs = 200;
    let arrivals = 0;
    const run = runOpenModel(
      [
        {
          name: 'tick',
          ratePerSec: 50,
          iterate: async () => {
            arrivals++;
          },
        },
      ],
      { durationMs: () => durationMs, maxInFlight: 10 },
    );
    durationMs = 600;
    const summary = await run;
    // 600 ms × 50/s = 30 arrivals, not the 10 the first duration allowed
    expect(summary.scheduled).toBe(30);
    expect(arrivals).toBe(30);
  });

  it('schedules duration × rate arrivals per op, all sent when the server keeps up', async () => {
    hits = 0;
    const records: RequestRecord[] = [];
    const client = new RecordingClient(baseUrl, { timeoutMs: 5_000, onRecord: (r) => records.push(r) });
    const call = () =>
      client
        .call({ service: 'login', op: 'me', method: 'GET', path: '/fast', okStatuses: [200] })
        .then(() => undefined);
    const summary = await runOpenModel(
      [
        { name: 'a', ratePerSec: 40, iterate: call },
        { name: 'b', ratePerSec: 10, iterate: call },
      ],
      { durationMs: 1_000, maxInFlight: 100 },
    );
    await client.close();
    expect(summary.perOp.a!.scheduled).toBe(40);
    expect(summary.perOp.b!.scheduled).toBe(10);
    expect(summary.dropped).toBe(0);
    expect(hits).toBe(50);
    expect(records).toHaveLength(50);
    expect(records.every((r) => r.ok && r.status === 200)).toBe(true);
  });

  it('keeps offering load when the server hangs: excess arrivals are dropped, not queued', async () => {
    hits = 0;
    hang = new Promise<void>((resolve) => {
      release = resolve;
    });
    const client = new RecordingClient(baseUrl, { timeoutMs: 10_000 });
    const summaryPromise = runOpenModel(
      [
        {
          name: 'slow',
          ratePerSec: 50,
          iterate: () =>
            client
              .call({ service: 'login', op: 'me', method: 'GET', path: '/hang', okStatuses: [200] })
              .then(() => undefined),
        },
      ],
      { durationMs: 1_000, maxInFlight: 5 },
    );
    // Release the hung requests only after the load window has passed.
    setTimeout(() => release?.(), 1_500);
    const summary = await summaryPromise;
    await client.close();
    expect(summary.scheduled).toBe(50);
    expect(summary.sent).toBe(5);
    expect(summary.dropped).toBe(45);
    expect(summary.maxInFlight).toBe(5);
    expect(hits).toBe(5);
  });

  it('records refused connections as status 0 with the transport error', async () => {
    const probe = Fastify();
    const url = await probe.listen({ host: '127.0.0.1', port: 0 });
    await probe.close();
    const client = new RecordingClient(url, { timeoutMs: 2_000 });
    const { record } = await client.call({
      service: 'payments',
      op: 'balance',
      method: 'GET',
      path: '/',
      okStatuses: [200],
    });
    await client.close();
    expect(record).toMatchObject({ status: 0, ok: false, error: 'ECONNREFUSED', servedBy: null });
  });

  it('refuses any target outside 127.0.0.0/8', () => {
    expect(() => new RecordingClient('http://192.0.2.1:8080', { timeoutMs: 1_000 })).toThrow(/only 127/);
    expect(() => new RecordingClient('http://localhost:8080', { timeoutMs: 1_000 })).toThrow(/only 127/);
  });
});
