// Live delivery: one Redis pub/sub channel per room, one subscriber connection per process shared by
// every open stream (a connection per SSE client would exhaust Redis long before the app).
import type { Redis } from 'ioredis';

export interface LiveMessage {
  seq: string;
  id: string;
  room: string;
  author: string;
  body: string;
  createdAt: string;
}

type Listener = (message: LiveMessage) => void;

export const roomChannel = (room: string) => `messaging:room:${room}:live`;

export class RoomHub {
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    private readonly subscriber: Redis,
    private readonly onError: (error: unknown) => void,
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
    const set = this.listeners.get(match[1]!);
    if (!set) return;
    let message: LiveMessage;
    try {
      message = JSON.parse(payload) as LiveMessage;
    } catch (error) {
      this.onError(error);
      return;
    }
    for (const listener of set) listener(message);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.subscriber.disconnect();
  }
}

export async function publishMessage(redis: Redis, message: LiveMessage): Promise<void> {
  await redis.publish(roomChannel(message.room), JSON.stringify(message));
}
