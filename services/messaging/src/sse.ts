// Server-sent events for one room: replay from Postgres after Last-Event-ID, then live messages from
// Redis pub/sub, with heartbeat comments so proxies and clients can tell a quiet room from a dead link.
import type { ServerResponse } from 'node:http';
import { encodeCursor } from './cursor';
import type { LiveMessage, RoomHub } from './room-hub';

export const HEARTBEAT_INTERVAL_MS = 15_000;
/** replay at most this many missed messages; a client further behind pages with GET …/messages */
export const MAX_REPLAY = 1000;

export interface StreamOptions {
  /** called once the Redis subscription is live: takes over the response (reply.hijack()) */
  begin: () => ServerResponse;
  room: string;
  hub: RoomHub;
  /** the seq after which to replay from Postgres (from Last-Event-ID), or null for live only */
  resumeAfterSeq: string | null;
  loadAfter: (afterSeq: string, limit: number) => Promise<LiveMessage[]>;
  headers: Record<string, string>;
  heartbeatMs?: number;
  onError: (error: unknown) => void;
  /** the response once it is a live stream, so the app can end it on shutdown */
  onOpen?: (raw: ServerResponse) => void;
  /** unix ms at which the stream ends (the access token's expiry): a stream never outlives its token */
  endAt?: number;
  /** a client that does not read: past this many bytes waiting in the response, the stream is ended */
  maxBufferedBytes?: number;
  /** the stream was ended by the cell: its client stopped reading, or its token expired */
  onCut?: (reason: StreamCutReason) => void;
}

export type StreamCutReason = 'slow_client' | 'token_expired';

export const DEFAULT_MAX_BUFFERED_BYTES = 256 * 1024;

export function formatEvent(message: LiveMessage): string {
  const data = JSON.stringify({
    id: message.id,
    room: message.room,
    author: message.author,
    body: message.body,
    createdAt: message.createdAt,
    cursor: encodeCursor(message.seq),
  });
  return `id: ${encodeCursor(message.seq)}\nevent: message\ndata: ${data}\n\n`;
}

export async function streamRoom(opts: StreamOptions): Promise<void> {
  const resumeAfter = opts.resumeAfterSeq === null ? null : BigInt(opts.resumeAfterSeq);
  // Replayed ids, so a message both replayed and published afterwards is sent once. Live messages are
  // not filtered by seq order: two concurrent posts may publish out of seq order and both must arrive.
  const replayedIds = new Set<string>();
  // Live messages that arrive while the replay runs wait here, so none is lost or sent twice.
  let pending: LiveMessage[] | null = [];
  let closed = false;
  const send = (message: LiveMessage) => {
    if (closed || replayedIds.has(message.id)) return;
    if (resumeAfter !== null && BigInt(message.seq) <= resumeAfter) return;
    // Backpressure: a client that stops reading would otherwise grow this process's memory by every
    // message. End its stream instead; it reconnects with Last-Event-ID and replays from Postgres.
    if (raw.writableLength > (opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES)) {
      opts.onCut?.('slow_client');
      raw.destroy();
      close();
      return;
    }
    raw.write(formatEvent(message));
  };

  // Subscribe before replaying: anything committed after the replay query is then seen live.
  // If Redis is down this throws before the response is taken over, so the client gets a 503 JSON error.
  const unsubscribe = await opts.hub.subscribe(opts.room, (message) => {
    if (pending) pending.push(message);
    else send(message);
  });
  const raw = opts.begin();
  raw.writeHead(200, {
    ...opts.headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.write(': connected\n\n');
  const heartbeat = setInterval(
    () => closed || raw.write(': heartbeat\n\n'),
    opts.heartbeatMs ?? HEARTBEAT_INTERVAL_MS,
  );
  // setTimeout takes at most 2^31-1 ms; tokens live minutes
  const expiry =
    opts.endAt === undefined
      ? undefined
      : setTimeout(
          () => {
            opts.onCut?.('token_expired');
            raw.end();
          },
          Math.min(2 ** 31 - 1, Math.max(0, opts.endAt - Date.now())),
        );
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    if (expiry) clearTimeout(expiry);
    unsubscribe().catch(opts.onError);
  };
  raw.on('close', close);
  opts.onOpen?.(raw);

  try {
    if (opts.resumeAfterSeq !== null) {
      for (const message of await opts.loadAfter(opts.resumeAfterSeq, MAX_REPLAY)) {
        send(message);
        replayedIds.add(message.id);
      }
    }
  } catch (error) {
    opts.onError(error);
    raw.end();
    close();
    return;
  }
  const queued = pending;
  pending = null;
  for (const message of queued) send(message);
}
