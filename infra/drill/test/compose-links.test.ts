// The compose backend's link faults against the real links process (infra/links: the proxy and its
// control API, as the links container runs them), on loopback: the drill's fault reaches the link by
// the lab's names, slows real traffic, heals, on an edge link and on a replication link; a missing
// token is refused by name, with no call made. No Docker is involved in a link fault:
// the backend's docker calls fail the test if any is made.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Fault, LinkFaults } from '@failover-lab/contracts';
import { buildControl, Links } from '@failover-lab/links';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComposeBackend, type Exec } from '../src/backends/compose';

const TOKEN = 'compose-links-test-token-0123456789';
const noDocker: Exec = async (file, args) => {
  throw new Error(`a link fault must not call ${file} ${args.join(' ')}`);
};

let cell: Server;
let links: Links;
let control: FastifyInstance;
let controlUrl: string;
let linkPort: number;
let replicationPort: number;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

beforeAll(async () => {
  cell = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => cell.listen(0, '127.0.0.1', resolve));
  linkPort = await freePort();
  replicationPort = await freePort();
  const target = { host: '127.0.0.1', port: (cell.address() as AddressInfo).port };
  links = new Links([
    {
      from: 'dc-b',
      to: 'dc-a',
      service: 'payments',
      host: '127.0.0.1',
      ports: [{ name: 'postgres', listen: replicationPort, target }],
    },
    {
      from: 'edge',
      to: 'dc-a',
      service: 'payments',
      host: '127.0.0.1',
      ports: [
        {
          name: 'app',
          listen: linkPort,
          target: { host: '127.0.0.1', port: (cell.address() as AddressInfo).port },
        },
      ],
    },
  ]);
  await links.listen();
  control = buildControl(links, TOKEN);
  await control.listen({ host: '127.0.0.1', port: 0 });
  controlUrl = `http://127.0.0.1:${(control.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await control?.close();
  await links?.close();
  await new Promise((resolve) => cell?.close(resolve));
});

const backend = (token: string | undefined) =>
  new ComposeBackend(
    { adminToken: 'a'.repeat(32), appPassword: 'p', ...(token ? { linksToken: token } : {}) },
    'flab-test',
    noDocker,
    controlUrl,
  );

async function active(): Promise<Fault[]> {
  const res = await fetch(`${controlUrl}/faults`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return ((await res.json()) as LinkFaults).faults;
}

/** A fresh connection through the link each time (no keep-alive): ms until the answer. */
async function throughLink(): Promise<number> {
  const started = performance.now();
  const res = await fetch(`http://127.0.0.1:${linkPort}/`, { headers: { connection: 'close' } });
  expect(await res.text()).toBe('ok');
  return performance.now() - started;
}

const latency: Fault = {
  kind: 'link_latency',
  target: { from: 'edge', region: 'dc-a' },
  direction: 'to',
  attributes: { latency_ms: 300 },
};

describe('compose backend: link faults through the links control API', () => {
  it('applies a latency on router → dc-a that real traffic feels, and its reset heals the link', async () => {
    const compose = backend(TOKEN);
    await compose.faults.apply(latency);
    expect(await active()).toEqual([latency]);
    // 295, not 300: the proxy's 300 ms timer runs on a whole-millisecond loop clock (as in infra/links/test)
    expect(await throughLink()).toBeGreaterThanOrEqual(295);
    await compose.faults.reset(latency);
    expect(await active()).toEqual([]);
    expect(await throughLink()).toBeLessThan(300);
  });

  it('a partition and its heal by name (link_heal), as the edge-partition drill sends them', async () => {
    const compose = backend(TOKEN);
    const cut: Fault = {
      kind: 'link_partition',
      target: { from: 'edge', region: 'dc-a' },
      direction: 'both',
    };
    await compose.faults.apply(cut);
    expect((await active()).map((f) => f.kind)).toEqual(['link_partition']);
    await compose.faults.apply({ kind: 'link_heal', target: { from: 'edge', region: 'dc-a' } });
    expect(await active()).toEqual([]);
  });

  it('a partition of the replication link (dc-a ⇄ dc-b) holds its traffic, and its reset heals it', async () => {
    const cut: Fault = {
      kind: 'link_partition',
      target: { from: 'dc-a', region: 'dc-b' },
      direction: 'both',
    };
    const compose = backend(TOKEN);
    await compose.faults.apply(cut);
    expect(await active()).toEqual([cut]);
    // a blackhole: the connection hangs, nothing answers
    await expect(
      fetch(`http://127.0.0.1:${replicationPort}/`, { signal: AbortSignal.timeout(1_000) }),
    ).rejects.toThrow();
    await compose.faults.reset(cut);
    expect(await active()).toEqual([]);
    const res = await fetch(`http://127.0.0.1:${replicationPort}/`, { headers: { connection: 'close' } });
    expect(await res.text()).toBe('ok');
  });

  it('without LINKS_TOKEN it says so and makes no call; with a wrong one it reports the 401 code', async () => {
    await expect(backend(undefined).faults.apply(latency)).rejects.toThrow(/needs LINKS_TOKEN/);
    const wrong = backend('not-the-token-0123456789');
    await expect(wrong.faults.apply(latency)).rejects.toThrow(/401 LINKS_ERR_UNAUTHORIZED/);
    await expect(wrong.faults.apply(latency)).rejects.not.toThrow(/not-the-token/);
    expect(await active()).toEqual([]);
  });
});
