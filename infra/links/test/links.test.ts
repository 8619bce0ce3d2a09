// The link proxy over real TCP on loopback: a target server, a link in front of it, a client through it.
import { randomInt } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Fault, Link } from '@failover-lab/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { sweep } from '../src/kernel';
import { Links } from '../src/links';

// A loopback /24 of its own per test file run: nothing else binds these.
const NET = `127.${randomInt(100, 250)}.${randomInt(100, 250)}`;
const TARGET = `${NET}.2`;
const LINK = `${NET}.11`;

let target: Server | undefined;
let links: Links | undefined;
const sockets: Socket[] = [];

/** The target's side of every connection it accepted, until it closes. */
const accepted = new Set<Socket>();

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  const t0 = performance.now();
  // bounded below the hook's 10 s, so a close that hangs says so
  let closing: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    links?.close(),
    new Promise((_, reject) => {
      closing = setTimeout(() => reject(new Error('links.close() did not finish in 7 s')), 7_000);
    }),
  ]).finally(() => clearTimeout(closing));
  const closeMs = performance.now() - t0;
  // The target's side of each connection ends once its client and the link are gone: give it 2 s,
  // then say which were left (with the step times) instead of letting `server.close` wait for them
  // until the hook times out, which says nothing (a CI run once timed out here in both tests that
  // reset kernel-forwarded connections; 15 runs since, 9 of them three at a time, did not).
  for (let waited = 0; accepted.size > 0 && waited < 2_000; waited += 50) await sleep(50);
  if (accepted.size > 0) {
    console.warn(
      `links test: ${accepted.size} target-side connection(s) still open 2 s after the clients and the link closed ` +
        `(links.close() took ${Math.round(closeMs)} ms): ${[...accepted].map((s) => `${s.remoteAddress}:${s.remotePort}`).join(', ')}`,
    );
    for (const s of accepted) s.destroy();
  }
  await new Promise((resolve) => (target ? target.close(resolve) : resolve(undefined)));
  links = target = undefined;
});

/** Echo server that also answers "who" with the peer address it sees. */
async function startTarget(port: number) {
  const seen: string[] = [];
  target = createServer((socket) => {
    seen.push(socket.remoteAddress ?? '');
    accepted.add(socket);
    socket.on('close', () => accepted.delete(socket));
    socket.on('data', (chunk) => {
      if (chunk.toString() === 'who') socket.write(socket.remoteAddress ?? '');
      else socket.write(chunk);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => target!.listen(port, TARGET, resolve));
  return seen;
}

async function startLink(kernel?: { chain: string }): Promise<{ port: number }> {
  const port = randomInt(20_000, 60_000);
  await startTarget(port);
  const link: Link = {
    from: 'edge',
    to: 'dc-a',
    service: 'payments',
    host: LINK,
    source: LINK,
    ports: [{ name: 'app', listen: port, target: { host: TARGET, port } }],
  };
  links = new Links([link], () => {}, kernel);
  await links.listen();
  return { port };
}

function client(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: LINK, port }, () => resolve(socket));
    socket.once('error', reject);
    sockets.push(socket);
  });
}

/** Sends `text` and resolves with the echo and how long it took (ms). */
function roundTrip(socket: Socket, text: string): Promise<{ reply: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let reply = '';
    const onData = (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.length >= (text === 'who' ? 7 : text.length)) {
        socket.off('data', onData);
        resolve({ reply, ms: performance.now() - t0 });
      }
    };
    socket.on('data', onData);
    socket.write(text);
  });
}

const edgeToA = { from: 'edge', region: 'dc-a' } as const;

describe('link proxy', () => {
  it('passes bytes through at rest, and the target sees the link address as the source', async () => {
    const { port } = await startLink();
    const socket = await client(port);
    expect((await roundTrip(socket, 'hello')).reply).toBe('hello');
    expect((await roundTrip(socket, 'who')).reply).toBe(LINK);
  });

  it('delays one direction by latency_ms on connections already open, and not after the heal', async () => {
    const { port } = await startLink();
    const socket = await client(port);
    await roundTrip(socket, 'warm');
    await links!.apply({ kind: 'link_latency', target: edgeToA, attributes: { latency_ms: 300 } });
    const slow = await roundTrip(socket, 'slow');
    expect(slow.ms).toBeGreaterThanOrEqual(295);
    await links!.apply({
      kind: 'link_latency',
      target: edgeToA,
      direction: 'both',
      attributes: { latency_ms: 200 },
    });
    // both legs now: the 'to' fault of 300 ms stays (a different direction) and 200 ms each way is added
    expect((await roundTrip(socket, 'slower')).ms).toBeGreaterThanOrEqual(695);
    await links!.apply({ kind: 'link_heal', target: edgeToA });
    expect(links!.active()).toEqual([]);
    expect((await roundTrip(socket, 'fast')).ms).toBeLessThan(200);
  });

  it('holds bytes in a partition without closing the connection, and delivers them in order after the heal', async () => {
    const { port } = await startLink();
    const socket = await client(port);
    await roundTrip(socket, 'warm');
    await links!.apply({ kind: 'link_partition', target: edgeToA });
    const pending = roundTrip(socket, 'held-1held-2');
    const first = await Promise.race([pending, new Promise((r) => setTimeout(() => r('timeout'), 500))]);
    expect(first).toBe('timeout');
    expect(socket.destroyed).toBe(false);
    await links!.apply({ kind: 'link_heal', target: { from: 'dc-a', region: 'edge' as never } as never });
    expect((await pending).reply).toBe('held-1held-2');
  });

  it('cuts one way only: with dc-a → edge dropped the target still receives', async () => {
    const { port } = await startLink();
    const socket = await client(port);
    await links!.apply({ kind: 'link_partition', target: edgeToA, direction: 'from' });
    const pending = roundTrip(socket, 'who');
    await new Promise((r) => setTimeout(r, 300));
    await links!.apply({ kind: 'link_heal', target: edgeToA });
    expect((await pending).reply).toBe(LINK);
  });

  it('lets a new connection hang in a partition (never refused) and opens it on the heal', async () => {
    const { port } = await startLink();
    await links!.apply({ kind: 'link_partition', target: edgeToA });
    const socket = await client(port); // the proxy accepts; nothing reaches the target
    const pending = roundTrip(socket, 'late');
    await new Promise((r) => setTimeout(r, 300));
    expect(links!.connections()['edge→dc-a/payments']).toBe(1);
    await links!.apply({ kind: 'link_heal', target: edgeToA });
    expect((await pending).reply).toBe('late');
  });

  it('resets every open connection on link_reset, and keeps nothing broken', async () => {
    const { port } = await startLink();
    const socket = await client(port);
    const closed = new Promise<string>((resolve) =>
      socket.once('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? '')),
    );
    await links!.apply({ kind: 'link_reset', target: edgeToA });
    expect(await closed).toBe('ECONNRESET');
    expect(links!.active()).toEqual([]);
    expect((await roundTrip(await client(port), 'again')).reply).toBe('again');
  });

  it('caps the rate: 64 KiB at 512 kbps takes about a second', async () => {
    const { port } = await startLink();
    const socket = await client(port);
    await links!.apply({ kind: 'link_bandwidth', target: edgeToA, attributes: { rate_kbps: 512 } });
    const { ms } = await roundTrip(socket, 'x'.repeat(64 * 1024));
    expect(ms).toBeGreaterThanOrEqual(900);
  });

  it('leaves the other service and the other link alone', async () => {
    const { port } = await startLink();
    const socket = await client(port);
    const faults: Fault[] = [
      { kind: 'link_partition', target: { from: 'edge', region: 'dc-b' } },
      { kind: 'link_partition', target: { ...edgeToA, service: 'login' } },
      { kind: 'link_partition', target: { from: 'dc-b', region: 'dc-a' } },
    ];
    for (const fault of faults) await links!.apply(fault);
    expect((await roundTrip(socket, 'free')).reply).toBe('free');
    expect(links!.active()).toHaveLength(3);
    expect(await links!.healAll()).toEqual([]);
  });
});

// The kernel path needs root and iptables (docs/links.md); CI and the lab run as root.
const asRoot = process.getuid?.() === 0;
const CHAIN = `FLABT${NET.split('.').slice(1).join('-')}`;

describe.runIf(asRoot)('a link at rest forwarded by the kernel', () => {
  afterEach(() => sweep(CHAIN));

  it('forwards at rest without the proxy, moves to the proxy on a fault (latency shows), and back on the heal', async () => {
    const { port } = await startLink({ chain: CHAIN });
    expect(links!.forwarding()).toEqual({ mode: 'kernel', kernelLinks: ['edge→dc-a/payments'] });
    const atRest = await client(port);
    // the target sees the link's address (the SNAT), and the proxy holds no connection
    expect((await roundTrip(atRest, 'who')).reply).toBe(LINK);
    expect(links!.connections()).toEqual({ 'edge→dc-a/payments': 0 });

    const cut = new Promise<string>((resolve) =>
      atRest.once('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? '')),
    );
    await links!.apply({ kind: 'link_latency', target: edgeToA, attributes: { latency_ms: 150 } });
    // the kernel-forwarded connection is closed at once, not left to carry bytes past the fault
    expect(await cut).toMatch(/^(ECONNABORTED|ECONNRESET)$/);
    expect(links!.forwarding().kernelLinks).toEqual([]);
    const slowed = await client(port);
    expect(links!.connections()).toEqual({ 'edge→dc-a/payments': 1 });
    const { reply, ms } = await roundTrip(slowed, 'who');
    expect(reply).toBe(LINK);
    expect(ms).toBeGreaterThanOrEqual(140);

    await links!.apply({ kind: 'link_heal', target: edgeToA });
    expect(links!.forwarding().kernelLinks).toEqual(['edge→dc-a/payments']);
    // the connection already on the proxy stays there (healed: no delay), a new one takes the kernel
    expect((await roundTrip(slowed, 'still')).ms).toBeLessThan(100);
    const healed = await client(port);
    expect((await roundTrip(healed, 'who')).reply).toBe(LINK);
    expect(links!.connections()).toEqual({ 'edge→dc-a/payments': 1 });
  });

  it('link_reset resets kernel-forwarded connections and keeps the link on the kernel path', async () => {
    const { port } = await startLink({ chain: CHAIN });
    const socket = await client(port);
    expect((await roundTrip(socket, 'hi')).reply).toBe('hi');
    const cut = new Promise<string>((resolve) =>
      socket.once('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? '')),
    );
    await links!.apply({ kind: 'link_reset', target: edgeToA });
    expect(await cut).toMatch(/^(ECONNABORTED|ECONNRESET)$/);
    expect(links!.forwarding().kernelLinks).toEqual(['edge→dc-a/payments']);
    expect((await roundTrip(await client(port), 'again')).reply).toBe('again');
    expect(links!.connections()).toEqual({ 'edge→dc-a/payments': 0 });
  });

  it('close() removes every rule of its chain', async () => {
    await startLink({ chain: CHAIN });
    const { execFileSync } = await import('node:child_process');
    expect(execFileSync('iptables', ['-t', 'nat', '-S']).toString()).toContain(`${CHAIN}-O`);
    await links!.close();
    links = undefined;
    expect(execFileSync('iptables', ['-t', 'nat', '-S']).toString()).not.toContain(CHAIN);
  });
});
