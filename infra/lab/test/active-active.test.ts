// Messaging active-active on a real lab (docs/active-active.md): both regions take writes and receive
// each other's by logical replication, one order per room, live delivery across regions, a lost
// region's users moved with no promotion, its unreplicated tail replayed on rejoin, duplicates merged.
// One lab for the whole file.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ControllerEvent, homeRegion, type RegionName } from '@failover-lab/contracts';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabClient } from '../src/client';
import { launchLab, stopLab } from '../src/lab';
import { waitUntil } from '../src/process';
import { makeTempStateDir } from '../src/test-data-tier';
import { findCell } from '../src/topology';
import { processesMentioning } from './helpers';

/** The first room names homed in each region (FNV-1a of the name, the router's rule). */
const roomHomedIn = (region: RegionName, tag: string) => {
  for (let i = 0; ; i++) if (homeRegion(`${tag}-${i}`) === region) return `${tag}-${i}`;
};

describe('messaging active-active (lab)', () => {
  let lab: LabClient;
  let stateDir: string;
  let secrets: { adminToken: string; appPassword: string };
  let token: string;
  let user: string;

  beforeAll(async () => {
    stateDir = makeTempStateDir('flab-aa-');
    ({ client: lab } = await launchLab({ stateDir, messagingTopology: 'active-active' }));
    secrets = JSON.parse(readFileSync(join(stateDir, 'secrets.json'), 'utf8'));
    user = `aa${Date.now().toString(36)}`;
    const password = 'correct horse battery staple';
    const signup = await routerCall('POST', '/login/users', { username: user, password });
    expect(signup.status).toBe(201);
    const signin = await routerCall('POST', '/login/sessions', { username: user, password });
    expect(signin.status).toBe(201);
    token = (signin.body as { accessToken: string }).accessToken;
  }, 300_000);

  afterAll(async () => {
    if (!stateDir) return;
    await stopLab(stateDir, { wipe: true });
    expect(processesMentioning(stateDir)).toEqual([]);
    expect(existsSync(stateDir)).toBe(false);
  }, 60_000);

  async function call(base: string, method: string, path: string, body?: unknown, auth = true) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(auth && token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return {
      status: res.status,
      servedBy: res.headers.get('x-served-by'),
      body: text ? JSON.parse(text) : null,
    };
  }
  const routerCall = (method: string, path: string, body?: unknown) =>
    call(lab.topo.edge.routerUrl, method, path, body, method !== 'POST' || !path.startsWith('/login'));
  const cellCall = (region: RegionName, method: string, path: string, body?: unknown) =>
    call(findCell(lab.topo, 'messaging', region).appUrl, method, path, body);
  const post = (room: string, text: string, id = randomUUID()) =>
    routerCall('POST', `/messaging/rooms/${room}/messages`, { id, body: text });

  async function sql<R extends pg.QueryResultRow>(region: RegionName, text: string, params: unknown[] = []) {
    const cell = findCell(lab.topo, 'messaging', region);
    const client = new pg.Client({
      host: cell.postgres.host,
      port: cell.postgres.port,
      user: 'app',
      password: secrets.appPassword,
      database: 'messaging',
      connectionTimeoutMillis: 3_000,
    });
    client.on('error', () => {});
    await client.connect();
    try {
      return (await client.query<R>(text, params)).rows;
    } finally {
      await client.end().catch(() => {});
    }
  }
  const idsIn = async (region: RegionName, room: string) =>
    (await sql<{ id: string }>(region, 'SELECT id FROM messages WHERE room = $1 ORDER BY seq', [room])).map(
      (r) => r.id,
    );
  const adminEvents = async (): Promise<ControllerEvent[]> => {
    const res = await fetch(`${lab.topo.edge.routerUrl}/admin/events`, {
      headers: { authorization: `Bearer ${secrets.adminToken}` },
    });
    return ((await res.json()) as { events: ControllerEvent[] }).events;
  };

  it('comes up with both messaging cells primary, each subscribed to the other, and says so', async () => {
    const status = await lab.status();
    expect(status.messagingTopology).toBe('active-active');
    for (const region of ['dc-a', 'dc-b'] as const) {
      const cell = status.cells.find((c) => c.service === 'messaging' && c.region === region)!;
      expect(cell.postgres.role).toBe('primary');
      expect(cell.redis.role).toBe('master');
    }
    // the other services are untouched: one primary, one streaming standby
    const payments = status.cells.filter((c) => c.service === 'payments').map((c) => c.postgres.role);
    expect(payments.sort()).toEqual(['primary', 'standby']);
  });

  it('sends each room to its home region, and both regions end with every message in one order', async () => {
    const rooms = { 'dc-a': roomHomedIn('dc-a', 'home'), 'dc-b': roomHomedIn('dc-b', 'home') };
    for (const region of ['dc-a', 'dc-b'] as const) {
      for (let i = 0; i < 5; i++) {
        const r = await post(rooms[region], `${region} ${i}`);
        expect(r.status).toBe(201);
        expect(r.servedBy).toBe(region);
      }
    }
    // a reply written in dc-b right after dc-a's messages arrived sorts after them (HLC receive rule)
    await waitUntil(
      'dc-a’s room in dc-b',
      async () => (await idsIn('dc-b', rooms['dc-a'])).length === 5,
      30_000,
    );
    const reply = await cellCall('dc-b', 'POST', `/messaging/rooms/${rooms['dc-a']}/messages`, {
      id: randomUUID(),
      body: 'reply from dc-b',
    });
    expect(reply.status).toBe(201);
    for (const room of Object.values(rooms)) {
      await waitUntil(
        `${room} the same in both regions`,
        async () => {
          const [a, b] = [await idsIn('dc-a', room), await idsIn('dc-b', room)];
          return a.length >= 5 && a.join() === b.join();
        },
        30_000,
      );
    }
    const page = await routerCall('GET', `/messaging/rooms/${rooms['dc-a']}/messages`);
    expect((page.body as { messages: { body: string }[] }).messages.map((m) => m.body).at(-1)).toBe(
      'reply from dc-b',
    );
  }, 120_000);

  it('pushes a message written in the other region to an open event stream', async () => {
    const room = roomHomedIn('dc-b', 'live');
    const controller = new AbortController();
    const res = await fetch(
      `${findCell(lab.topo, 'messaging', 'dc-b').appUrl}/messaging/rooms/${room}/stream`,
      {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        signal: controller.signal,
      },
    );
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let seen = '';
    const read = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        seen += Buffer.from(value).toString('utf8');
        if (seen.includes('written in dc-a')) return;
      }
    })().catch(() => {});
    const written = await cellCall('dc-a', 'POST', `/messaging/rooms/${room}/messages`, {
      id: randomUUID(),
      body: 'written in dc-a',
    });
    expect(written.status).toBe(201);
    await Promise.race([read, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    controller.abort();
    expect(seen).toContain('written in dc-a');
  }, 60_000);

  it('merges one client id written in both regions to the copy with the lower HLC', async () => {
    const room = roomHomedIn('dc-a', 'dup');
    const id = randomUUID();
    // Replication cut both ways, the same message posted in each region: both take it.
    for (const [from, to] of [
      ['dc-a', 'dc-b'],
      ['dc-b', 'dc-a'],
    ] as const)
      await lab.apply({ kind: 'link_partition', target: { from, region: to, service: 'messaging' } });
    try {
      expect(
        (await cellCall('dc-a', 'POST', `/messaging/rooms/${room}/messages`, { id, body: 'same' })).status,
      ).toBe(201);
      expect(
        (await cellCall('dc-b', 'POST', `/messaging/rooms/${room}/messages`, { id, body: 'same' })).status,
      ).toBe(201);
    } finally {
      for (const [from, to] of [
        ['dc-a', 'dc-b'],
        ['dc-b', 'dc-a'],
      ] as const)
        await lab.apply({ kind: 'link_heal', target: { from, region: to, service: 'messaging' } });
    }
    await waitUntil(
      'one copy left in both regions, the loser kept in message_conflicts',
      async () => {
        const copies = await Promise.all(
          (['dc-a', 'dc-b'] as const).map(
            async (r) => (await sql(r, 'SELECT 1 FROM messages WHERE id = $1', [id])).length,
          ),
        );
        const kept = await Promise.all(
          (['dc-a', 'dc-b'] as const).map(
            async (r) => (await sql(r, 'SELECT 1 FROM message_conflicts WHERE id = $1', [id])).length,
          ),
        );
        return copies[0] === 1 && copies[1] === 1 && kept[0]! + kept[1]! === 1;
      },
      60_000,
      500,
    );
  }, 120_000);

  it('moves a lost region’s rooms to the other with no promotion, and replays its tail on rejoin', async () => {
    const room = roomHomedIn('dc-a', 'tail');
    // dc-a's writes stop reaching dc-b (link into dc-a cut): what dc-a acknowledges now is its tail
    await lab.apply({
      kind: 'link_partition',
      target: { from: 'dc-b', region: 'dc-a', service: 'messaging' },
    });
    const tail: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await post(room, `tail ${i}`);
      expect(r.status).toBe(201);
      expect(r.servedBy).toBe('dc-a');
      tail.push((r.body as { id: string }).id);
    }
    const killedAt = Date.now();
    await lab.kill('dc-a');
    // The link proxy still holds what dc-a sent into the partition (it would cross at the heal, as TCP
    // retransmits would from a live host): reset the link's connections, so the tail dies with dc-a.
    const link = { from: 'dc-b', region: 'dc-a', service: 'messaging' } as const;
    await lab.apply({ kind: 'link_reset', target: link });
    await lab.apply({ kind: 'link_heal', target: link });
    // the router notices and sends dc-a's rooms to dc-b; nothing is promoted
    await waitUntil(
      'dc-a’s room served by dc-b',
      async () => (await post(room, 'while dc-a is down')).servedBy === 'dc-b',
      60_000,
      250,
    );
    const during = await idsIn('dc-b', room);
    expect(tail.filter((id) => during.includes(id))).toEqual([]);
    const events = (await adminEvents()).filter(
      (e) => e.service === 'messaging' && Date.parse(e.at) >= killedAt,
    );
    expect(events.filter((e) => e.type === 'promoted' || e.type === 'promote_started')).toEqual([]);
    expect(events.some((e) => e.type === 'routed' && e.region === 'dc-b')).toBe(true);

    // Login and payments stay active-passive: restore asks the router for their primary and refuses
    // while dc-b's promotion is still under way, so wait until both are routed there.
    await waitUntil(
      'login and payments routed to dc-b',
      async () => {
        const routed = (await adminEvents()).filter(
          (e) => e.type === 'routed' && e.region === 'dc-b' && Date.parse(e.at) >= killedAt,
        );
        return ['login', 'payments'].every((s) => routed.some((e) => e.service === s));
      },
      60_000,
      250,
    );
    await lab.restore('dc-a');
    await waitUntil(
      'dc-a’s unreplicated tail in dc-b',
      async () => {
        const ids = await idsIn('dc-b', room);
        return tail.every((id) => ids.includes(id));
      },
      90_000,
      500,
    );
    await waitUntil(
      'the room identical in both regions',
      async () => (await idsIn('dc-a', room)).join() === (await idsIn('dc-b', room)).join(),
      60_000,
      500,
    );
  }, 300_000);
});
