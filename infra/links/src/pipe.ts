// One direction of one proxied TCP connection. Bytes cross at once while the leg is healthy; under a
// fault each chunk gets a delivery time (latency ± jitter, the bandwidth cap, a retransmission stall
// for a "lost" segment) and is written when it is due, in order. A blackholed leg delivers nothing
// until it heals, then everything it held: what TCP's retransmissions do after a partition.
//
// Why a pipe of our own: the kernel here has no sch_netem (docs/facts.md), and the user-space tools
// (Toxiproxy and the like) are not in Debian's packages, act per connection instead of per direction
// of a running link, or cannot hold a blackhole without resetting the connection. This is ~150 lines
// on node:net.
import type { Socket } from 'node:net';
import { type Impairment, LOSS_STALL_MS } from './impairment';

/** Bytes a leg holds before it stops reading its source (backpressure instead of memory). */
const MAX_QUEUED_BYTES = 1024 * 1024;

interface Due {
  chunk: Buffer;
  atMs: number;
}

export class Pipe {
  private readonly queue: Due[] = [];
  private queuedBytes = 0;
  /** delivery time of the last queued chunk: no chunk overtakes another */
  private lastAtMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private pausedForQueue = false;
  private waitingForDrain = false;

  constructor(
    private readonly src: Socket,
    private readonly dst: Socket,
    /** the leg's impairment now (null: healthy); read per chunk, so a fault reaches open connections */
    private readonly impairment: () => Impairment | null,
    private readonly random: () => number = Math.random,
  ) {
    src.on('data', (chunk: Buffer) => this.onData(chunk));
    src.on('end', () => {
      this.ended = true;
      this.flush();
    });
    dst.on('drain', () => {
      this.waitingForDrain = false;
      this.resumeIfRoom();
    });
  }

  private onData(chunk: Buffer) {
    const impairment = this.impairment();
    if (impairment === null && this.queue.length === 0) {
      this.write(chunk);
      return;
    }
    const now = performance.now();
    let atMs = now;
    if (impairment) {
      const jitter = impairment.jitterMs * (this.random() * 2 - 1);
      atMs += Math.max(0, impairment.latencyMs + jitter);
      if (impairment.rateKbps > 0) {
        // kbps = bits per ms: the chunk leaves when the previous one has, plus its own transmission time
        atMs = Math.max(atMs, this.lastAtMs) + (chunk.length * 8) / impairment.rateKbps;
      }
      if (impairment.loss > 0 && this.random() < impairment.loss) atMs += LOSS_STALL_MS;
    }
    atMs = Math.max(atMs, this.lastAtMs);
    this.lastAtMs = atMs;
    this.queue.push({ chunk, atMs });
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > MAX_QUEUED_BYTES && !this.pausedForQueue) {
      this.pausedForQueue = true;
      this.src.pause();
    }
    this.flush();
  }

  /** Writes what is due; called on every chunk, on a timer, and when a fault changes (kick). */
  flush() {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.dst.destroyed) return;
    const impairment = this.impairment();
    if (impairment?.blackhole) return; // kicked again when the leg heals
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.atMs <= now) {
      const { chunk } = this.queue.shift()!;
      this.queuedBytes -= chunk.length;
      this.write(chunk);
    }
    if (this.queue.length > 0) {
      this.timer = setTimeout(() => this.flush(), Math.max(1, this.queue[0]!.atMs - now));
      return;
    }
    // a healed leg's backlog is gone: later chunks need not wait behind its delivery times
    this.lastAtMs = 0;
    this.resumeIfRoom();
    if (this.ended && !this.dst.writableEnded) this.dst.end();
  }

  /** A fault changed: a backlog held by a blackhole may now go. */
  kick() {
    if (this.queue.length > 0 || this.ended) this.flush();
  }

  close() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private write(chunk: Buffer) {
    if (this.dst.destroyed) return;
    if (!this.dst.write(chunk) && !this.waitingForDrain) {
      this.waitingForDrain = true;
      this.src.pause();
    }
  }

  private resumeIfRoom() {
    if (this.pausedForQueue && this.queuedBytes <= MAX_QUEUED_BYTES / 2) this.pausedForQueue = false;
    if (!this.pausedForQueue && !this.waitingForDrain && this.src.isPaused()) this.src.resume();
  }
}
