// Controller events: the timeline of every failover (the drill's RTO phases are read from these).
// Kept in a bounded ring for GET /admin/events and appended to a JSONL file beside the state file.

import { appendFile, mkdir } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { ControllerEvent } from '@failover-lab/contracts';

/** `router-state.json` → `router-state.events.jsonl` in the same directory. */
export function eventsFileFor(stateFile: string): string {
  const base = basename(stateFile, extname(stateFile));
  return join(dirname(stateFile), `${base}.events.jsonl`);
}

export class EventLog {
  private readonly ring: ControllerEvent[] = [];
  private writing: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(event: ControllerEvent) => void>();

  constructor(
    private readonly capacity: number,
    private readonly file: string | null,
  ) {}

  record(event: ControllerEvent): void {
    this.ring.push(event);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const listener of this.listeners) listener(event);
    if (this.file) {
      const file = this.file;
      // Appends are serialized so the file keeps the order of the ring.
      this.writing = this.writing
        .then(() => mkdir(dirname(file), { recursive: true }))
        .then(() => appendFile(file, `${JSON.stringify(event)}\n`))
        .catch(() => {
          /* the ring still has it; a full disk must not stop failover */
        });
    }
  }

  onEvent(listener: (event: ControllerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Events strictly after `since` (all when omitted), oldest first. */
  since(since?: Date): ControllerEvent[] {
    if (!since) return [...this.ring];
    const t = since.getTime();
    return this.ring.filter((e) => Date.parse(e.at) > t);
  }

  async flush(): Promise<void> {
    await this.writing;
  }
}
