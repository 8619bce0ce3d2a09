// The lab's links, end to end: replication and the router's traffic cross them from the links' own
// addresses, link faults go through the supervisor and show in the status, and a cell believes
// x-forwarded-for only from the edge link its router traffic arrives through.
import { once } from 'node:events';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabClient } from '../src/client';
import { cellOf } from '../src/context';
import { superuserQuery } from '../src/datastores/postgres';
import { redisCommand } from '../src/datastores/redis';
import { linksCall } from '../src/faults/link';
import { launchLab, stopLab } from '../src/lab';
import { LabPaths } from '../src/paths';
import { loadOrCreateSecrets } from '../src/secrets';
import { makeTempStateDir } from '../src/test-data-tier';
import { edgeLinkHost, replicationLinkHost } from '../src/topology';

/** POST a sign-in from `localAddress`, optionally claiming another client address. */
function signIn(url: string, localAddress: string, forwardedFor?: string): Promise<number> {
  const body = JSON.stringify({ username: `nobody-${Date.now()}`, password: 'not-the-password' });
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        localAddress,
        // a connection of its own each time: which path it takes is what the tests look at
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
        },
        timeout: 20_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('links in the lab', () => {
  let lab: LabClient;
  let stateDir: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    stateDir = makeTempStateDir('flab-links-');
    ({ client: lab } = await launchLab({ stateDir }));
  }, 240_000);

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    if (stateDir) await stopLab(stateDir, { wipe: true });
  }, 60_000);

  const ctx = () => {
    const paths = new LabPaths(stateDir);
    return { paths, topo: lab.topo, secrets: loadOrCreateSecrets(paths.secretsFile) };
  };

  it('carries replication: the primary sees its standby and its Redis replica arrive from the replication link', async () => {
    const subnet = lab.topo.subnet;
    const primary = cellOf(ctx(), 'payments', 'dc-a');
    const rows = await superuserQuery<{ client_addr: string; application_name: string }>(
      primary.postgres,
      'SELECT host(client_addr) AS client_addr, application_name FROM pg_stat_replication',
    );
    expect(rows).toEqual([
      { client_addr: replicationLinkHost('dc-a', 'payments', subnet), application_name: 'dc-b' },
    ]);
    const info = String(await redisCommand(primary.redis, 'INFO', ['replication']));
    expect(info).toContain(`ip=${replicationLinkHost('dc-a', 'payments', subnet)},`);
  });

  it('applies link faults through the supervisor, lists them in the status, and heals them all on reset', async () => {
    const appThroughLink = `http://${edgeLinkHost('dc-a', 'payments', lab.topo.subnet)}:3000/health/live`;
    const result = await lab.apply({
      kind: 'link_latency',
      target: { from: 'edge', region: 'dc-a', service: 'payments' },
      attributes: { latency_ms: 250 },
    });
    expect(result.affected).toEqual(['edge→dc-a/payments']);
    const t0 = performance.now();
    expect((await fetch(appThroughLink)).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(245);
    await lab.apply({ kind: 'link_partition', target: { from: 'dc-a', region: 'dc-b' }, direction: 'from' });
    const status = await lab.status();
    expect(status.edge.links?.state).toBe('up');
    expect(status.edge.links?.faults.map((f) => f.kind)).toEqual(['link_latency', 'link_partition']);
    expect((await lab.healLinks()).faults).toEqual([]);
    expect((await lab.status()).edge.links?.faults).toEqual([]);
  });

  it('believes x-forwarded-for only from the edge link: a local client calling the cell directly is counted as itself', async () => {
    const subnet = lab.topo.subnet;
    const login = cellOf(ctx(), 'login', 'dc-a');
    const key = (ip: string) => `login:ratelimit:ip:${ip}`;
    const count = async (ip: string) => Number((await redisCommand(login.redis, 'GET', [key(ip)])) ?? 0);
    // Straight to the cell, claiming to be someone else: the attempt is counted against 127.0.0.1.
    const before = await count('127.0.0.1');
    expect(await signIn(`http://${login.host}:3000/login/sessions`, '127.0.0.1', '203.0.113.7')).toBe(401);
    expect(await count('203.0.113.7')).toBe(0);
    expect(await count('127.0.0.1')).toBe(before + 1);
    // Through the router, from an address of our own: the router names it in x-forwarded-for and the
    // cell believes it, because it arrives through the edge link. A claim of the client's is replaced.
    const client = `127.${subnet}.77.7`;
    expect(await signIn(`${lab.topo.edge.routerUrl}/login/sessions`, client, '203.0.113.8')).toBe(401);
    expect(await count(client)).toBe(1);
    expect(await count('203.0.113.8')).toBe(0);
    expect(await count(edgeLinkHost('dc-a', 'login', subnet))).toBe(0);
  });

  it('forwards a link at rest in the kernel (the cell sees the link, the proxy holds nothing); a fault moves it to the proxy and the heal back', async () => {
    const subnet = lab.topo.subnet;
    const name = 'edge→dc-a/login';
    const link = edgeLinkHost('dc-a', 'login', subnet);
    const login = cellOf(ctx(), 'login', 'dc-a');
    const count = async () =>
      Number((await redisCommand(login.redis, 'GET', [`login:ratelimit:ip:${link}`])) ?? 0);
    const links = () => linksCall(ctx(), '/faults');
    /** a connection held open to the cell's app through the link, while `check` runs */
    const holding = async <T>(check: () => Promise<T>): Promise<T> => {
      const socket = connect({ host: link, port: 3000 });
      sockets.push(socket);
      socket.on('error', () => {});
      await once(socket, 'connect');
      try {
        return await check();
      } finally {
        socket.destroy();
      }
    };
    const onProxy = async () => (await links()).connections[name]!;

    const atRest = await links();
    expect(atRest.forwarding?.mode).toBe('kernel');
    expect(atRest.forwarding?.kernelLinks).toContain(name);
    expect((await lab.status()).edge.links?.forwarding?.mode).toBe('kernel');
    // the router probes and proxies to this cell through the link, and so do we, yet the proxy holds nothing
    expect(await holding(onProxy)).toBe(0);
    // with no x-forwarded-for, the cell counts a sign-in against the address it sees: the link's
    const before = await count();
    expect(await signIn(`http://${link}:3000/login/sessions`, '127.0.0.1')).toBe(401);
    expect(await count()).toBe(before + 1);

    const target = { from: 'edge', region: 'dc-a', service: 'login' } as const;
    await lab.apply({ kind: 'link_latency', target, attributes: { latency_ms: 250 } });
    expect((await links()).forwarding?.kernelLinks).not.toContain(name);
    expect(await holding(onProxy)).toBeGreaterThanOrEqual(1);
    const t0 = performance.now();
    expect((await fetch(`http://${link}:3000/health/live`)).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(245);
    expect(await signIn(`http://${link}:3000/login/sessions`, '127.0.0.1')).toBe(401);
    expect(await count()).toBe(before + 2);

    await lab.apply({ kind: 'link_heal', target });
    expect((await links()).forwarding?.kernelLinks).toContain(name);
    // a new connection takes the kernel: the proxy holds no more than before it (its own may close)
    const proxied = await onProxy();
    expect(await holding(onProxy)).toBeLessThanOrEqual(proxied);
    expect(await signIn(`http://${link}:3000/login/sessions`, '127.0.0.1')).toBe(401);
    expect(await count()).toBe(before + 3);
  });
});
