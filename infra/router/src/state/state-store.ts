// The edge's durable truth: per service, which region is primary at which epoch.
// Written before every promotion (temp file, fsync, atomic rename, fsync of the directory) so a router
// that dies mid-failover comes back knowing the epoch it handed out and never hands it out twice.

import { readFileSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { REGIONS, type RegionName, type ServiceName } from '@failover-lab/contracts';

export interface ServiceState {
  primary: RegionName;
  epoch: number;
  updatedAt: string;
}

export interface RouterState {
  version: 1;
  services: Partial<Record<ServiceName, ServiceState>>;
}

export interface StateStore {
  load(): RouterState | null;
  save(state: RouterState): Promise<void>;
}

export function initialServiceState(now: Date): ServiceState {
  return { primary: 'dc-a', epoch: 1, updatedAt: now.toISOString() };
}

function isServiceState(v: unknown): v is ServiceState {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return (
    (REGIONS as readonly unknown[]).includes(s.primary) &&
    typeof s.epoch === 'number' &&
    Number.isInteger(s.epoch) &&
    s.epoch >= 1
  );
}

export class FileStateStore implements StateStore {
  constructor(readonly path: string) {}

  /** null when there is no state file yet; throws on a corrupt one (never silently start over). */
  load(): RouterState | null {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const parsed = JSON.parse(text) as RouterState;
    if (parsed?.version !== 1 || typeof parsed.services !== 'object' || parsed.services === null) {
      throw new Error(`router state file ${this.path} is not a version 1 state`);
    }
    for (const [service, state] of Object.entries(parsed.services)) {
      if (!isServiceState(state)) throw new Error(`router state file ${this.path}: bad entry for ${service}`);
    }
    return parsed;
  }

  // Asynchronous file calls: an fsync on a busy disk takes tens of ms, and a synchronous one would stall
  // the whole router (the data plane included) in the middle of a failover.
  async save(state: RouterState): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true });
    const temp = `${this.path}.${process.pid}.tmp`;
    const file = await open(temp, 'w', 0o644);
    try {
      await file.writeFile(`${JSON.stringify(state, null, 2)}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, this.path);
    // The rename is durable only once the directory entry is.
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  }
}

/** For unit tests of the controller: the same interface, kept in memory. */
export class MemoryStateStore implements StateStore {
  state: RouterState | null;
  saves = 0;
  constructor(initial: RouterState | null = null) {
    this.state = initial ? structuredClone(initial) : null;
  }
  load(): RouterState | null {
    return this.state ? structuredClone(this.state) : null;
  }
  async save(state: RouterState): Promise<void> {
    this.saves++;
    this.state = structuredClone(state);
  }
}
