// Routes under /messaging. Postgres is the truth (messages, order, idempotency); Redis carries live
// delivery and unread counters, both best effort: a message committed while Redis is down is still
// acknowledged and readable, it just is not pushed live.
import type { ServerResponse } from 'node:http';
import type { CellConfig } from '@failover-lab/cell-kit';
import { commitFor, errorResponses, withTransaction } from '@failover-lab/cell-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { startConflictResolver, startReplicatedDelivery } from './active-active';
import { decodeCursor, encodeCursor } from './cursor';
import { messagingErrors } from './errors';
import * as repo from './repository';
import { type LiveMessage, publishMessage, RoomHub } from './room-hub';
import {
  ListQuery,
  Message,
  MessageIdParams,
  MessagePage,
  PostMessageBody,
  RoomParams,
  StreamHeaders,
  Unread,
} from './schemas';
import { streamRoom } from './sse';
import { markRoomRead, recordPosted, unreadCount } from './unread';
import { markRoomReadActiveActive, unreadCountActiveActive } from './unread-active-active';

// Messaging is async-replicated: its RPO is measured by the drills, not hidden.
const COMMIT = commitFor('messaging');
const DEFAULT_PAGE_SIZE = 50;

const toLive = (row: repo.MessageRow): LiveMessage => ({
  seq: row.seq,
  id: row.id,
  room: row.room,
  author: row.author,
  body: row.body,
  createdAt: row.created_at.toISOString(),
});

const toMessage = (row: repo.MessageRow) => ({ ...toLive(row), cursor: encodeCursor(row.seq) });

export interface MessagingRouteOptions {
  /** SSE heartbeat comment interval (default 15 s) */
  heartbeatMs?: number;
  /** event streams one user may hold open on this cell (default 8) */
  maxStreamsPerUser?: number;
  /** event streams this cell holds open at most (default 2000) */
  maxStreams?: number;
  /** bytes waiting in one stream's response before it is ended (default 256 KiB) */
  maxBufferedBytes?: number;
  /** active-active (docs/active-active.md): this cell writes its own origin's table, with HLC seqs */
  activeActive?: { region: CellConfig['region'] };
}

export function messagingRoutes(options: MessagingRouteOptions = {}): FastifyPluginAsyncTypebox {
  return async (app) => {
    const messagesTotal = app.metrics.counter('messaging_messages_total', 'Posted messages by outcome', [
      'outcome',
    ]);
    const redisSideEffectFailures = app.metrics.counter(
      'messaging_redis_side_effect_failures_total',
      'Live publish or unread-counter updates skipped because Redis failed (the message itself is stored)',
      ['operation'],
    );
    const bestEffort = (operation: string, work: Promise<unknown>) =>
      work.catch((error: unknown) => {
        redisSideEffectFailures.inc({ operation });
        app.log.warn({ operation, err: (error as Error).message }, 'redis side effect skipped');
      });

    const subscriber = app.redis.duplicate();
    subscriber.on('error', () => {}); // reconnects and re-subscribes on its own
    subscriber.connect().catch(() => {});
    const pubsubDropped = app.metrics.counter(
      'messaging_pubsub_dropped_total',
      'Payloads on a room channel that are not what this service publishes (dropped, never delivered)',
      ['reason'],
    );
    const streamsCut = app.metrics.counter(
      'messaging_streams_cut_total',
      'Event streams the cell ended: its client stopped reading (slow_client: the bytes waiting in its ' +
        'response passed the bound) or the token that opened it expired',
      ['reason'],
    );
    const hub = new RoomHub(
      subscriber,
      (error) => app.log.warn({ err: error }, 'room hub error'),
      (reason) => {
        pubsubDropped.inc({ reason });
        app.log.warn({ reason }, 'pub/sub payload dropped');
      },
    );
    app.addHook('onClose', async () => hub.close());
    if (options.activeActive) {
      const stopDelivery = startReplicatedDelivery(
        app,
        (message) => publishMessage(app.redis, message),
        toLive,
      );
      const stopResolver = startConflictResolver(app, options.activeActive.region);
      app.addHook('onClose', async () => {
        stopResolver();
        await stopDelivery();
      });
    }
    // Open streams would keep server.close() waiting forever: end them first, clients reconnect with
    // Last-Event-ID (to the other region, after a failover).
    const openStreams = new Set<ServerResponse>();
    const streamsByUser = new Map<string, number>();
    /** streams past the limit checks that are not open yet (subscribing, replaying) */
    let opening = 0;
    app.addHook('preClose', async () => {
      for (const raw of openStreams) raw.end();
    });

    app.post(
      '/messaging/rooms/:room/messages',
      {
        preHandler: app.authenticate,
        schema: {
          params: RoomParams,
          body: PostMessageBody,
          response: { 200: Message, 201: Message, ...errorResponses(400, 401, 409, 503) },
        },
      },
      async (request, reply) => {
        app.cell.assertWritable(request);
        const { room } = request.params;
        const author = request.user!.sub;
        const { row, created } = await withTransaction(app.pg, COMMIT, (db) =>
          options.activeActive
            ? repo.insertMessageOnceActiveActive(
                db,
                { id: request.body.id, room, author, body: request.body.body },
                options.activeActive.region,
              )
            : repo.insertMessageOnce(db, { id: request.body.id, room, author, body: request.body.body }),
        );
        if (!created) {
          const sameMessage = row.room === room && row.author === author && row.body === request.body.body;
          messagesTotal.inc({ outcome: sameMessage ? 'duplicate' : 'conflict' });
          if (!sameMessage) throw messagingErrors.make('ID_CONFLICT');
          return reply.code(200).send(toMessage(row));
        }
        messagesTotal.inc({ outcome: 'created' });
        await Promise.all([
          bestEffort('publish', publishMessage(app.redis, toLive(row))),
          // active-active: unread counts come from Postgres (your own messages never count)
          options.activeActive
            ? Promise.resolve()
            : bestEffort('unread', recordPosted(app.redis, room, author)),
        ]);
        return reply.code(201).send(toMessage(row));
      },
    );

    app.get(
      '/messaging/rooms/:room/messages',
      {
        preHandler: app.authenticate,
        schema: {
          params: RoomParams,
          querystring: ListQuery,
          response: { 200: MessagePage, ...errorResponses(400, 401) },
        },
      },
      async (request) => {
        const { room } = request.params;
        const { after, limit } = request.query;
        const afterSeq = after === undefined ? null : decodeCursor(after);
        if (after !== undefined && afterSeq === null) throw messagingErrors.make('INVALID_CURSOR');
        const rows = await repo.listMessages(app.pg, room, afterSeq, limit ?? DEFAULT_PAGE_SIZE);
        await bestEffort(
          'mark_read',
          options.activeActive
            ? markRoomReadActiveActive(app.pg, room, request.user!.sub, options.activeActive.region)
            : markRoomRead(app.redis, room, request.user!.sub),
        );
        const last = rows.at(-1);
        return { messages: rows.map(toMessage), nextCursor: last ? encodeCursor(last.seq) : (after ?? null) };
      },
    );

    app.get(
      '/messaging/messages/:id',
      {
        preHandler: app.authenticate,
        schema: { params: MessageIdParams, response: { 200: Message, ...errorResponses(400, 401, 404) } },
      },
      async (request) => {
        const row = await repo.findMessage(app.pg, request.params.id);
        if (!row) throw messagingErrors.make('MESSAGE_NOT_FOUND');
        return toMessage(row);
      },
    );

    app.get(
      '/messaging/rooms/:room/unread',
      {
        preHandler: app.authenticate,
        schema: { params: RoomParams, response: { 200: Unread, ...errorResponses(400, 401, 503) } },
      },
      async (request) => {
        const { room } = request.params;
        const reader = request.user!.sub;
        const unread = options.activeActive
          ? await unreadCountActiveActive(app.pg, room, reader)
          : await unreadCount(app.redis, room, reader);
        return { room, unread };
      },
    );

    app.get(
      '/messaging/rooms/:room/stream',
      {
        preHandler: app.authenticate,
        schema: {
          params: RoomParams,
          headers: StreamHeaders,
          response: {
            200: Type.String({
              description: 'text/event-stream: `id: <cursor>`, `event: message`, `data: <Message>`',
            }),
            ...errorResponses(400, 401, 429, 503),
          },
        },
      },
      async (request, reply) => {
        const { room } = request.params;
        const lastEventId = request.headers['last-event-id'];
        const resumeAfterSeq = lastEventId === undefined ? null : decodeCursor(lastEventId);
        if (lastEventId !== undefined && resumeAfterSeq === null)
          throw messagingErrors.make('INVALID_CURSOR');
        const user = request.user!;
        // Each open stream holds a socket, a subscription and buffers: bounded per user, so one user
        // cannot starve the rest, and per cell.
        if ((streamsByUser.get(user.sub) ?? 0) >= (options.maxStreamsPerUser ?? 8)) {
          throw messagingErrors.make('TOO_MANY_STREAMS');
        }
        if (openStreams.size + opening >= (options.maxStreams ?? 2000))
          throw messagingErrors.make('STREAMS_FULL');
        streamsByUser.set(user.sub, (streamsByUser.get(user.sub) ?? 0) + 1);
        opening++;
        let counted = true;
        const release = () => {
          if (!counted) return;
          counted = false;
          const n = (streamsByUser.get(user.sub) ?? 1) - 1;
          if (n <= 0) streamsByUser.delete(user.sub);
          else streamsByUser.set(user.sub, n);
        };
        try {
          await streamRoom({
            room,
            hub,
            resumeAfterSeq,
            loadAfter: async (afterSeq, limit) =>
              (await repo.listMessages(app.pg, room, afterSeq, limit)).map(toLive),
            // The response is taken over, so the kit's onSend hook does not run: set its headers here.
            headers: app.cell.responseHeaders('GET'),
            heartbeatMs: options.heartbeatMs,
            onError: (error) => request.log.warn({ err: error }, 'stream error'),
            onOpen: (raw) => {
              openStreams.add(raw);
              raw.on('close', () => {
                openStreams.delete(raw);
                release();
              });
            },
            begin: () => {
              reply.hijack();
              return reply.raw;
            },
            // A stream must not outlive the token that opened it (expired, or signed out and left to
            // expire: docs/security.md "Revoked sessions"); the client reconnects with a fresh one.
            endAt: user.exp * 1000,
            maxBufferedBytes: options.maxBufferedBytes,
            onCut: (reason) => streamsCut.inc({ reason }),
          });
        } catch (error) {
          release();
          throw error;
        } finally {
          opening--;
          if (reply.raw.destroyed) release();
        }
      },
    );
  };
}
