// Messaging against a real Postgres + Redis (startTestDataTier): every endpoint's success and failure paths.

import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import type { TestSigner } from '@failover-lab/cell-kit/testing';
import { type TestDataTier, waitUntil } from '@failover-lab/lab/testing';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../src/cursor';
import { roomChannel } from '../src/room-hub';
import {
  buildTestMessagingCell,
  createTestSigner,
  messageCount,
  sseEvents,
  sseReader,
  startTier,
  uniqueRoom,
} from './helpers';

let tier: TestDataTier;
let signer: TestSigner;
let app: FastifyInstance;
let alice: string;
let bob: string;
const ALICE = 'user-alice';
const BOB = 'user-bob';

beforeAll(async () => {
  tier = await startTier({ service: 'messaging' });
  signer = await createTestSigner();
  app = await buildTestMessagingCell(tier, tier.primary, signer, { heartbeatMs: 300 });
  alice = await signer.sign(ALICE);
  bob = await signer.sign(BOB);
});
afterAll(async () => {
  await app?.close();
  await tier?.stop();
});

const json = (res: { body: string }) => JSON.parse(res.body);
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

const post = (room: string, payload: unknown, token = alice) =>
  app.inject({
    method: 'POST',
    url: `/messaging/rooms/${room}/messages`,
    headers: auth(token),
    payload: payload as object,
  });

const list = (room: string, query = '', token = alice) =>
  app.inject({ method: 'GET', url: `/messaging/rooms/${room}/messages${query}`, headers: auth(token) });

describe('posting messages', () => {
  it('stores a message with the token subject as author (201)', async () => {
    const room = uniqueRoom();
    const id = randomUUID();
    const res = await post(room, { id, body: 'hello' });
    expect(res.statusCode).toBe(201);
    expect(json(res)).toMatchObject({ id, room, author: ALICE, body: 'hello', cursor: expect.any(String) });
  });

  it('a retry with the same id and body returns the original (200), nothing new stored', async () => {
    const room = uniqueRoom();
    const id = randomUUID();
    const first = await post(room, { id, body: 'once only' });
    const before = await messageCount(tier.primary);
    const retry = await post(room, { id, body: 'once only' });
    expect(retry.statusCode).toBe(200);
    expect(json(retry)).toEqual(json(first));
    expect(await messageCount(tier.primary)).toBe(before);
    expect(json(await list(room)).messages).toHaveLength(1);
  });

  it('the same id with a different body, room or author is a 409 and changes nothing', async () => {
    const room = uniqueRoom();
    const id = randomUUID();
    await post(room, { id, body: 'original' });
    const before = await messageCount(tier.primary);
    for (const res of [
      await post(room, { id, body: 'changed' }),
      await post(uniqueRoom(), { id, body: 'original' }),
      await post(room, { id, body: 'original' }, bob),
    ]) {
      expect(res.statusCode).toBe(409);
      expect(json(res).error.code).toBe('MSG_ERR_ID_CONFLICT');
    }
    expect(await messageCount(tier.primary)).toBe(before);
    const stored = json(
      await app.inject({ method: 'GET', url: `/messaging/messages/${id}`, headers: auth(alice) }),
    );
    expect(stored.body).toBe('original');
  });

  it.each([
    ['a room name with a dot', 'bad.room', { id: randomUUID(), body: 'x' }],
    ['a 65-char room name', 'r'.repeat(65), { id: randomUUID(), body: 'x' }],
    ['an empty body', 'ok-room', { id: randomUUID(), body: '' }],
    ['a 4001-char body', 'ok-room', { id: randomUUID(), body: 'x'.repeat(4001) }],
    ['an id that is no uuid', 'ok-room', { id: '42', body: 'x' }],
    ['a missing id', 'ok-room', { body: 'x' }],
    ['an extra field', 'ok-room', { id: randomUUID(), body: 'x', author: 'mallory' }],
  ])('refuses %s with 400 MSG_ERR_VALIDATION', async (_name, room, payload) => {
    const before = await messageCount(tier.primary);
    const res = await post(room, payload);
    expect(res.statusCode).toBe(400);
    expect(json(res).error.code).toBe('MSG_ERR_VALIDATION');
    expect(await messageCount(tier.primary)).toBe(before);
  });

  it('accepts a 4000-char body and a 64-char room', async () => {
    const res = await post('R'.repeat(64), { id: randomUUID(), body: 'é'.repeat(4000) });
    expect(res.statusCode).toBe(201);
  });

  it('refuses missing, foreign, expired and alg=none tokens with 401', async () => {
    const other = await createTestSigner(signer.kid);
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({
        sub: ALICE,
        iss: 'failover-lab/login',
        aud: 'failover-lab',
        jti: randomUUID(),
        exp: 9e9,
      }),
    ).toString('base64url')}.`;
    const tokens = [
      await other.sign(ALICE),
      await signer.sign(ALICE, { expiresIn: Math.floor(Date.now() / 1000) - 5 }),
      none,
    ];
    const before = await messageCount(tier.primary);
    for (const token of tokens) {
      const res = await post(uniqueRoom(), { id: randomUUID(), body: 'x' }, token);
      expect(res.statusCode).toBe(401);
      expect(json(res).error.code).toBe('MSG_ERR_UNAUTHORIZED');
    }
    const missing = await app.inject({
      method: 'POST',
      url: '/messaging/rooms/r/messages',
      payload: { id: randomUUID(), body: 'x' },
    });
    expect(missing.statusCode).toBe(401);
    expect(await messageCount(tier.primary)).toBe(before);
  });

  it('counts outcomes in messaging_messages_total', async () => {
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    for (const outcome of ['created', 'duplicate', 'conflict']) {
      expect(metrics).toMatch(
        new RegExp(
          `messaging_messages_total\\{outcome="${outcome}",service="messaging",region="dc-a"\\} [1-9]`,
        ),
      );
    }
  });
});

describe('reading messages', () => {
  it('pages by cursor in a stable order', async () => {
    const room = uniqueRoom();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = randomUUID();
      ids.push(id);
      expect((await post(room, { id, body: `m${i}` })).statusCode).toBe(201);
    }
    await post(uniqueRoom(), { id: randomUUID(), body: 'elsewhere' }); // other rooms do not leak in
    const page1 = json(await list(room, '?limit=2'));
    expect(page1.messages.map((m: { id: string }) => m.id)).toEqual(ids.slice(0, 2));
    const page2 = json(await list(room, `?limit=2&after=${page1.nextCursor}`));
    expect(page2.messages.map((m: { id: string }) => m.id)).toEqual(ids.slice(2, 4));
    const page3 = json(await list(room, `?after=${page2.nextCursor}`));
    expect(page3.messages.map((m: { id: string }) => m.id)).toEqual(ids.slice(4));
    const empty = json(await list(room, `?after=${page3.nextCursor}`));
    expect(empty).toEqual({ messages: [], nextCursor: page3.nextCursor });
  });

  it('refuses cursors it did not issue and out-of-range limits', async () => {
    for (const query of ['?after=abc', `?after=${Buffer.from('v1.-3').toString('base64url')}`]) {
      const res = await list('some-room', query);
      expect(res.statusCode).toBe(400);
      expect(json(res).error.code).toBe('MSG_ERR_INVALID_CURSOR');
    }
    for (const query of ['?limit=0', '?limit=201', '?limit=ten', '?after=%3B%3B', '?unknown=1']) {
      const res = await list('some-room', query);
      expect(res.statusCode, query).toBe(400);
      expect(json(res).error.code).toBe('MSG_ERR_VALIDATION');
    }
    expect(json(await list('some-room', `?after=${encodeCursor('999999999')}`)).messages).toEqual([]);
  });

  it('GET /messaging/messages/:id finds a message for audits, 404 otherwise', async () => {
    const id = randomUUID();
    await post(uniqueRoom(), { id, body: 'audit me' });
    const found = await app.inject({ method: 'GET', url: `/messaging/messages/${id}`, headers: auth(bob) });
    expect(found.statusCode).toBe(200);
    expect(json(found)).toMatchObject({ id, body: 'audit me', author: ALICE });
    const missing = await app.inject({
      method: 'GET',
      url: `/messaging/messages/${randomUUID()}`,
      headers: auth(bob),
    });
    expect(missing.statusCode).toBe(404);
    expect(json(missing).error.code).toBe('MSG_ERR_MESSAGE_NOT_FOUND');
    const bad = await app.inject({
      method: 'GET',
      url: '/messaging/messages/not-a-uuid',
      headers: auth(bob),
    });
    expect(bad.statusCode).toBe(400);
  });
});

describe('unread counts', () => {
  it("counts others' messages until the reader lists the room", async () => {
    const room = uniqueRoom();
    const unread = async (token: string) =>
      json(await app.inject({ method: 'GET', url: `/messaging/rooms/${room}/unread`, headers: auth(token) }))
        .unread;
    for (let i = 0; i < 3; i++) await post(room, { id: randomUUID(), body: `a${i}` }, alice);
    expect(await unread(bob)).toBe(3);
    expect(await unread(alice)).toBe(0); // your own messages are not unread
    await list(room, '', bob);
    expect(await unread(bob)).toBe(0);
    const id = randomUUID();
    await post(room, { id, body: 'one more' }, alice);
    await post(room, { id, body: 'one more' }, alice); // a retry does not count twice
    expect(await unread(bob)).toBe(1);
  });
});

describe('live delivery (SSE)', () => {
  let baseUrl: string;
  beforeAll(async () => {
    await app.listen({ host: tier.primary.host, port: 0 });
    const address = app.server.address() as { port: number };
    baseUrl = `http://${tier.primary.host}:${address.port}`;
  });

  async function openStream(room: string, headers: Record<string, string> = {}) {
    const abort = new AbortController();
    const res = await fetch(`${baseUrl}/messaging/rooms/${room}/stream`, {
      headers: { ...auth(bob), ...headers },
      signal: abort.signal,
    });
    return { res, abort, reader: res.ok ? sseReader(res.body!) : null };
  }

  it('delivers a message posted after subscribing, with heartbeats in between', async () => {
    const room = uniqueRoom();
    const { res, abort, reader } = await openStream(room);
    try {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(res.headers.get('x-cell-region')).toBe('dc-a');
      await reader!.waitFor((t) => t.includes(': connected'));
      const id = randomUUID();
      const posted = json(await post(room, { id, body: 'live!' }));
      await reader!.waitFor((t) => t.includes(id));
      const [event] = sseEvents(reader!.text);
      expect(event).toMatchObject({ id: posted.cursor, data: { id, body: 'live!', author: ALICE } });
      await reader!.waitFor((t) => t.includes(': heartbeat'));
    } finally {
      abort.abort();
    }
  });

  it('resumes from Last-Event-ID out of Postgres, then continues live without duplicates', async () => {
    const room = uniqueRoom();
    const posted = [];
    for (let i = 0; i < 3; i++) posted.push(json(await post(room, { id: randomUUID(), body: `m${i}` })));
    const { abort, reader } = await openStream(room, { 'last-event-id': posted[0].cursor });
    try {
      await reader!.waitFor((t) => sseEvents(t).length >= 2);
      const live = json(await post(room, { id: randomUUID(), body: 'after resume' }));
      await reader!.waitFor((t) => t.includes(live.id));
      expect(sseEvents(reader!.text).map((e) => e.data.id)).toEqual([posted[1].id, posted[2].id, live.id]);
    } finally {
      abort.abort();
    }
  });

  it('drops and counts what arrives on a room channel that it did not publish, and keeps streaming', async () => {
    const room = uniqueRoom();
    const first = json(await post(room, { id: randomUUID(), body: 'before' }));
    // with Last-Event-ID the stream compares each live message's seq: the path that threw on a missing one
    const { abort, reader } = await openStream(room, { 'last-event-id': first.cursor });
    const publisher = new Redis(tier.primary.redisUrl);
    try {
      await reader!.waitFor((t) => t.includes(': connected'));
      const channel = roomChannel(room);
      const forged = [
        'not json',
        JSON.stringify({ id: 'x', body: 'no seq' }),
        JSON.stringify({ seq: 'abc', id: 'x', room, author: 'mallory', body: 'b', createdAt: 'now' }),
        JSON.stringify({
          seq: '99',
          id: 'x',
          room: 'elsewhere',
          author: 'mallory',
          body: 'b',
          createdAt: 'n',
        }),
        JSON.stringify(null),
      ];
      for (const payload of forged) await publisher.publish(channel, payload);
      const live = json(await post(room, { id: randomUUID(), body: 'after the forgeries' }));
      await reader!.waitFor((t) => t.includes(live.id));
      expect(sseEvents(reader!.text).map((e) => e.data.id)).toEqual([live.id]);
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      const dropped = (reason: string) =>
        Number(
          new RegExp(`messaging_pubsub_dropped_total\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)`).exec(
            metrics,
          )?.[1],
        );
      expect(dropped('not_json')).toBeGreaterThanOrEqual(1);
      expect(dropped('bad_shape')).toBeGreaterThanOrEqual(3);
      expect(dropped('wrong_room')).toBeGreaterThanOrEqual(1);
    } finally {
      publisher.disconnect();
      abort.abort();
    }
  });

  it('bounds streams per user (429 MSG_ERR_TOO_MANY_STREAMS) and per cell (429 MSG_ERR_STREAMS_FULL)', async () => {
    const bounded = await buildTestMessagingCell(tier, tier.primary, signer, {
      maxStreamsPerUser: 2,
      maxStreams: 3,
    });
    await bounded.listen({ host: tier.primary.host, port: 0 });
    const url = `http://${tier.primary.host}:${(bounded.server.address() as { port: number }).port}`;
    const aborts: AbortController[] = [];
    const open = async (token: string) => {
      const abort = new AbortController();
      aborts.push(abort);
      const res = await fetch(`${url}/messaging/rooms/${uniqueRoom()}/stream`, {
        headers: auth(token),
        signal: abort.signal,
      });
      if (res.ok) await sseReader(res.body!).waitFor((t) => t.includes(': connected'));
      return res;
    };
    try {
      const carol = await signer.sign('user-carol');
      expect((await open(bob)).status).toBe(200);
      expect((await open(bob)).status).toBe(200);
      const third = await open(bob);
      expect(third.status).toBe(429);
      expect(((await third.json()) as { error: { code: string } }).error.code).toBe(
        'MSG_ERR_TOO_MANY_STREAMS',
      );
      expect((await open(carol)).status).toBe(200); // another user is not bounded by bob's streams
      const full = await open(await signer.sign('user-dave'));
      expect(full.status).toBe(429);
      expect(((await full.json()) as { error: { code: string } }).error.code).toBe('MSG_ERR_STREAMS_FULL');
      aborts[0]!.abort(); // a closed stream frees its place
      await waitUntil('a place freed', async () => (await open(bob)).status === 200, 5_000);
    } finally {
      for (const a of aborts) a.abort();
      await bounded.close();
    }
  });

  it('cuts and counts the stream of a client that stops reading, instead of buffering for it without bound', async () => {
    const MAX_BUFFERED = 64 * 1024;
    const tight = await buildTestMessagingCell(tier, tier.primary, signer, {
      maxBufferedBytes: MAX_BUFFERED,
    });
    await tight.listen({ host: tier.primary.host, port: 0 });
    const port = (tight.server.address() as { port: number }).port;
    const room = uniqueRoom();
    // A raw socket, so the test decides when to read: after the first bytes it reads nothing more.
    const socket = connect({ host: tier.primary.host, port });
    const publisher = new Redis(tier.primary.redisUrl);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.once('connect', resolve);
      });
      socket.write(
        `GET /messaging/rooms/${room}/stream HTTP/1.1\r\nhost: cell\r\nauthorization: Bearer ${bob}\r\n\r\n`,
      );
      let head = '';
      await new Promise<void>((resolve) => {
        const onData = (chunk: Buffer) => {
          head += chunk.toString('utf8');
          if (!head.includes(': connected')) return;
          socket.off('data', onData);
          socket.pause();
          resolve();
        };
        socket.on('data', onData);
      });
      expect(head).toMatch(/^HTTP\/1\.1 200/);
      const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));

      // 12 MB of well-formed live messages, far past what loopback socket buffers absorb (a few MB),
      // published on the room's channel the way the cell's own posts are, to make them quickly.
      const body = 'x'.repeat(4000);
      const channel = roomChannel(room);
      for (let batch = 0; batch < 30; batch++) {
        const pipeline = publisher.pipeline();
        for (let i = 0; i < 100; i++) {
          const seq = String(batch * 100 + i + 1);
          pipeline.publish(
            channel,
            JSON.stringify({ seq, id: `m${seq}`, room, author: ALICE, body, createdAt: 'now' }),
          );
        }
        await pipeline.exec();
      }
      const cut = async () => {
        const metrics = (await tight.inject({ method: 'GET', url: '/metrics' })).body;
        return Number(
          /messaging_streams_cut_total\{[^}]*reason="slow_client"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0,
        );
      };
      await waitUntil('the slow stream cut', async () => (await cut()) === 1, 15_000);

      // Reading again, the client gets what was already on its way, then the end: not 12 MB.
      let received = head.length;
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      socket.resume();
      await ended;
      expect(received).toBeLessThan(12 * 1024 * 1024);
    } finally {
      socket.destroy();
      publisher.disconnect();
      await tight.close();
    }
  }, 60_000);

  it('ends a stream when the token that opened it expires', async () => {
    const shortLived = await signer.sign(BOB, { expiresIn: '3s' });
    const { abort, reader } = await openStream(uniqueRoom(), { authorization: `Bearer ${shortLived}` });
    try {
      await reader!.waitFor((t) => t.includes(': connected'));
      const started = Date.now();
      await Promise.race([
        reader!.pump,
        new Promise((_, reject) => setTimeout(() => reject(new Error('stream outlived its token')), 10_000)),
      ]);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      abort.abort();
    }
  });

  it('refuses a Last-Event-ID it did not issue and a missing token', async () => {
    const bad = await openStream(uniqueRoom(), { 'last-event-id': 'nonsense' });
    expect(bad.res.status).toBe(400);
    expect(((await bad.res.json()) as { error: { code: string } }).error.code).toBe('MSG_ERR_INVALID_CURSOR');
    const anonymous = await fetch(`${baseUrl}/messaging/rooms/r/stream`);
    expect(anonymous.status).toBe(401);
  });
});

describe('shutdown', () => {
  it('ends open streams when the app closes, so close() does not hang on them', async () => {
    const own = await buildTestMessagingCell(tier, tier.primary, signer);
    await own.listen({ host: tier.primary.host, port: 0 });
    const { port } = own.server.address() as { port: number };
    const res = await fetch(`http://${tier.primary.host}:${port}/messaging/rooms/${uniqueRoom()}/stream`, {
      headers: auth(bob),
    });
    expect(res.status).toBe(200); // right after start: the stream waits for the Redis subscriber
    const reader = sseReader(res.body!);
    await reader.waitFor((t) => t.includes(': connected'));
    await own.close();
    await reader.pump; // resolves only when the server ended the response
    expect(reader.text).toContain(': connected');
  });
});
