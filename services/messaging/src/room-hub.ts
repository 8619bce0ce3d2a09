// Live delivery: one Redis pub/sub channel per room, one subscriber connection per process shared by
// every open stream (a connection per SSE client would exhaust Redis long before the app).
import type { Redis } from 'ioredis';
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';

export interface LiveMessage {
  seq: string;
  id: string;
  room: string;
  author: string;
  body: string;
  createdAt: string;
}

type Listener = (message: LiveMessage) => void;

// Anyone who can PUBLISH on the channel can put anything there (another client of the same Redis, a
// bug, a forged message): what arrives is input, checked like a request body before any listener sees it.
const LiveMessageCheck = Compile(
  Type.Object({
    seq: Type.String({ pattern: '^[0-9]{1,19}$' }),
    id: Type.String({ minLength: 1, maxLength: 64 }),
    room: Type.String({ minLength: 1, maxLength: 64 }),
    author: Type.String({ minLength: 1, maxLength: 200 }),
    body: Type.String({ maxLength: 4000 }),
    createdAt: Type.String({ maxLength: 64 }),
  }),
);

/** Why a payload on a room channel was dropped (the messaging_pubsub_dropped_total label). */
export type DropReason = 'not_json' | 'bad_shape' | 'wrong_room';

/** The message a payload on `room`'s channel carries (only its known fields), or why it is dropped. */
export function readLiveMessage(payload: string, room: string): LiveMessage | DropReason {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return 'not_json';
  }
  if (!LiveMessageCheck.Check(parsed)) return 'bad_shape';
  if (parsed.room !== room) return 'wrong_room';
  const { seq, id, author, body, createdAt } = parsed;
  return { seq, id, room, author, body, createdAt };
}

export const roomChannel = (room: string) => `messaging:room:${room}:live`;

export class RoomHub {
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    private readonly subscriber: Redis,
    private readonly onError: (error: unknown) => void,
    private readonly onDropped: (reason: DropReason) => void = () => {},
  ) {
    subscriber.on('message', (channel: string, payload: string) => this.dispatch(channel, payload));
  }

  /** Resolves once Redis confirmed the subscription, so nothing published afterwards is missed. */
  async subscribe(room: string, listener: Listener): Promise<() => Promise<void>> {
    let set = this.listeners.get(room);
    if (!set) {
      set = new Set();
      this.listeners.set(room, set);
    }
    set.add(listener);
    const remove = async () => {
      const current = this.listeners.get(room);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) {
        this.listeners.delete(room);
        await this.subscriber.unsubscribe(roomChannel(room)).catch(this.onError);
      }
    };
    try {
      await this.connected();
      await this.subscriber.subscribe(roomChannel(room));
    } catch (error) {
      await remove();
      throw error;
    }
    return remove;
  }

  /**
   * The subscriber has no offline queue (a dead Redis must fail fast), so a stream opened while it is
   * still connecting — right after start, or during a Redis failover — waits briefly for it.
   */
  private async connected(timeoutMs = 2_000): Promise<void> {
    if (this.subscriber.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.subscriber.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs); // then subscribe() fails and the client gets a 503
      this.subscriber.once('ready', done);
    });
  }

  private dispatch(channel: string, payload: string): void {
    const match = /^messaging:room:(.+):live$/.exec(channel);
    if (!match) return;
    const room = match[1]!;
    const set = this.listeners.get(room);
    if (!set) return;
    const message = readLiveMessage(payload, room);
    if (typeof message === 'string') {
      this.onDropped(message);
      return;
    }
    for (const listener of set) {
      // one listener's failure (a stream whose socket broke) must not throw inside ioredis' emit
      try {
        listener(message);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.subscriber.disconnect();
  }
}

export async function publishMessage(redis: Redis, message: LiveMessage): Promise<void> {
  await redis.publish(roomChannel(message.room), JSON.stringify(message));
}
