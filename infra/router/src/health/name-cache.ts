// Cell host names resolved off the request path. In container mode the router reaches cells by name
// (compose service names) and every new connection would otherwise call getaddrinfo, which asks the
// engine's embedded DNS server. That server lives inside dockerd: while dockerd starts or stops a
// region's containers it drops or delays queries, and glibc waits its full 5 s resolver timeout
// before it asks again — so every service's new connections (and probes) stalled during a restore,
// also services whose cells were not touched (docs/docker.md, "restore").
// Here a name is resolved once, then refreshed in the background; connections take the last answer
// at once. A refresh that fails for a transient reason keeps the last good answer (an address known
// a second ago beats a stall); "no such name" is an answer too (a killed container has none) and is
// served as one, so a dead cell's probe fails fast instead of waiting on DNS.

import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup as systemLookup } from 'node:dns/promises';

/** IPv4 addresses of a name, or a rejection with the resolver's error code. */
export type ResolveFn = (hostname: string) => Promise<string[]>;

/** The callback form `net.connect({ lookup })` and undici's `connect.lookup` call. */
export type LookupFn = (
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

export interface NameCacheEvent {
  hostname: string;
  ms: number;
  /** null: resolved; otherwise the error code (ENOTFOUND, EAI_AGAIN, …) */
  error: string | null;
  /** the answer connections get now differs from the one before */
  changed: boolean;
}

export interface NameCacheOptions {
  /** how often every name in use is resolved again (a restarted container's new address shows up within this) */
  refreshMs: number;
  /** a name not connected to for this long is forgotten */
  forgetMs: number;
  /** told about every refresh that was slow, failed or changed the answer */
  onEvent?: (event: NameCacheEvent) => void;
  /** refreshes slower than this are reported */
  slowMs: number;
}

/** Answers that say the name does not exist (as opposed to: the resolver did not answer). */
const NO_SUCH_NAME = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * The system resolver (hosts file, then DNS), IPv4 only: the router's config allows IPv4 literals
 * or names for cells in container mode, and asking for A records only halves the queries.
 */
export const systemResolve: ResolveFn = async (hostname) =>
  (await systemLookup(hostname, { family: 4, all: true })).map((a) => a.address);

interface Entry {
  addresses: string[] | null;
  error: NodeJS.ErrnoException | null;
  usedAt: number;
  refreshing: Promise<void> | null;
}

export class NameCache {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly options: NameCacheOptions,
    private readonly resolve: ResolveFn = systemResolve,
  ) {}

  /** For `net.connect({ lookup })` / undici's `connect: { lookup }`. */
  readonly lookup: LookupFn = (hostname, options, callback) => {
    this.addresses(hostname).then(
      (addresses) => {
        if (options.all)
          callback(
            null,
            addresses.map((address) => ({ address, family: 4 })),
          );
        else callback(null, addresses[0]!, 4);
      },
      (err: NodeJS.ErrnoException) => callback(err, options.all ? [] : '', undefined),
    );
  };

  /** The cached answer; only a name never seen before waits for the resolver. */
  async addresses(hostname: string): Promise<string[]> {
    let entry = this.entries.get(hostname);
    if (!entry) {
      entry = { addresses: null, error: null, usedAt: Date.now(), refreshing: null };
      this.entries.set(hostname, entry);
      await this.refresh(hostname, entry);
    } else {
      entry.usedAt = Date.now();
      if (entry.addresses === null && entry.error === null) await entry.refreshing;
    }
    if (entry.addresses && entry.addresses.length > 0) return entry.addresses;
    throw entry.error ?? Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' });
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.refreshAll(), this.options.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One refresh round, as the timer runs it (tests call it directly). */
  async refreshAll(): Promise<void> {
    const now = Date.now();
    const rounds: Promise<void>[] = [];
    for (const [hostname, entry] of this.entries) {
      if (now - entry.usedAt > this.options.forgetMs) this.entries.delete(hostname);
      else rounds.push(this.refresh(hostname, entry));
    }
    await Promise.all(rounds);
  }

  /** At most one resolution per name in flight: a slow resolver never piles queries up. */
  private refresh(hostname: string, entry: Entry): Promise<void> {
    entry.refreshing ??= this.resolveInto(hostname, entry).finally(() => {
      entry.refreshing = null;
    });
    return entry.refreshing;
  }

  private async resolveInto(hostname: string, entry: Entry): Promise<void> {
    const started = performance.now();
    const before = entry.addresses?.join(',') ?? '';
    let error: string | null = null;
    try {
      const addresses = await this.resolve(hostname);
      entry.addresses = addresses;
      entry.error = null;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      error = typeof e.code === 'string' ? e.code : e.name;
      if (NO_SUCH_NAME.has(error) || entry.addresses === null) {
        entry.addresses = null;
        entry.error = e;
      }
      // else: the resolver did not answer (EAI_AGAIN, ETIMEOUT, …): keep the last good answer
    }
    const ms = performance.now() - started;
    const changed = (entry.addresses?.join(',') ?? '') !== before;
    // a killed container's name fails every round: only its first "no such name" is news
    const transient = error !== null && !NO_SUCH_NAME.has(error);
    if (changed || transient || ms >= this.options.slowMs)
      this.options.onEvent?.({ hostname, ms, error, changed });
  }
}
