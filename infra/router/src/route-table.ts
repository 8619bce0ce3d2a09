// Where each service's traffic goes right now, and the waiting room for requests held during a failover.
import type { RegionName, ServiceName } from '@failover-lab/contracts';

/** what cuts an in-flight request loose (an AbortController, or the proxy's lighter Cancel) */
export interface Abortable {
  abort(reason?: unknown): void;
}

export interface Route {
  primary: RegionName;
  epoch: number;
  /** false while the primary is down, being promoted, or a switchover holds writes */
  serving: boolean;
  /** strict sync mode without a synchronous standby: writes are refused, reads still served */
  refuseWrites: boolean;
  /** bumped on every change; a request that failed on generation g waits for a later one */
  generation: number;
  /**
   * active-active only: every region that takes this service's traffic now (the data plane picks each
   * request's home region among them, proxy/home-region.ts); absent: everything goes to `primary`
   */
  active?: readonly RegionName[];
}

type Waiter = { after: number; resolve: (route: Route | null) => void; timer: NodeJS.Timeout };

export class RouteTable {
  private readonly routes = new Map<ServiceName, Route>();
  private readonly waiters = new Map<ServiceName, Set<Waiter>>();
  /** per service: a planned switchover holds the route regardless of health */
  private readonly holds = new Map<ServiceName, number>();
  /** per cell: requests in flight, with the deadline of each write (undefined for reads) */
  private readonly inFlight = new Map<string, Map<Abortable, number | undefined>>();
  /** per cell: the latest deadline of the writes the router gave up on without learning their fate */
  private readonly abandonedWritesUntil = new Map<string, number>();
  /** per cell: who waits for the next of its writes to end (writeEnded) */
  private readonly writeWaiters = new Map<string, Set<() => void>>();

  get(service: ServiceName): Route | undefined {
    const route = this.routes.get(service);
    if (!route) return undefined;
    return this.holds.get(service) ? { ...route, serving: false } : route;
  }

  /** Returns true when the route changed. */
  set(service: ServiceName, next: Omit<Route, 'generation'>): boolean {
    const current = this.routes.get(service);
    if (
      current &&
      current.primary === next.primary &&
      current.epoch === next.epoch &&
      current.serving === next.serving &&
      current.refuseWrites === next.refuseWrites &&
      (current.active ?? []).join() === (next.active ?? []).join()
    ) {
      return false;
    }
    this.routes.set(service, { ...next, generation: (current?.generation ?? 0) + 1 });
    this.wakeWaiters(service);
    return true;
  }

  hold(service: ServiceName): void {
    this.holds.set(service, (this.holds.get(service) ?? 0) + 1);
    const route = this.routes.get(service);
    if (route) this.routes.set(service, { ...route, generation: route.generation + 1 });
  }

  release(service: ServiceName): void {
    const n = (this.holds.get(service) ?? 1) - 1;
    if (n <= 0) this.holds.delete(service);
    else this.holds.set(service, n);
    const route = this.routes.get(service);
    if (route) this.routes.set(service, { ...route, generation: route.generation + 1 });
    this.wakeWaiters(service);
  }

  /**
   * Resolve with a serving route newer than generation `after` (any serving route when omitted), or null
   * once `timeoutMs` has passed.
   */
  waitForServing(service: ServiceName, timeoutMs: number, after = -1): Promise<Route | null> {
    const route = this.get(service);
    if (route?.serving && route.generation > after) return Promise.resolve(route);
    if (timeoutMs <= 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      const set = this.waiters.get(service) ?? new Set<Waiter>();
      this.waiters.set(service, set);
      const waiter: Waiter = {
        after,
        resolve,
        timer: setTimeout(() => {
          set.delete(waiter);
          resolve(null);
        }, timeoutMs),
      };
      set.add(waiter);
    });
  }

  /**
   * Register a proxied request (with its deadline when it is a write). The returned function ends the
   * attempt: `mayStillLand` says the router gave up without learning the write's fate (it timed out or
   * was cut loose), so the cell may still run it until its deadline; an answer of any status, a refused
   * connection or one the cell dropped means it will not.
   */
  track(
    service: ServiceName,
    region: RegionName,
    controller: Abortable,
    writeDeadlineMs?: number,
  ): (mayStillLand: boolean) => void {
    const k = `${service}/${region}`;
    const map = this.inFlight.get(k) ?? new Map<Abortable, number | undefined>();
    this.inFlight.set(k, map);
    map.set(controller, writeDeadlineMs);
    return (mayStillLand) => {
      if (!map.delete(controller)) return;
      if (writeDeadlineMs === undefined) return;
      if (mayStillLand) {
        this.abandonedWritesUntil.set(k, Math.max(this.abandonedWritesUntil.get(k) ?? 0, writeDeadlineMs));
      }
      this.wakeWriteWaiters(k);
    };
  }

  /**
   * Resolves when the next write to this cell ends (answered, refused, given up on or cut loose), so a
   * promotion waiting on them re-reads writesMayLandUntil then instead of at its next poll. `signal`
   * `cancel` drops the wait.
   */
  writeEnded(service: ServiceName, region: RegionName): { ended: Promise<void>; cancel: () => void } {
    const k = `${service}/${region}`;
    const set = this.writeWaiters.get(k) ?? new Set<() => void>();
    this.writeWaiters.set(k, set);
    let wake = () => {};
    const ended = new Promise<void>((resolve) => {
      wake = resolve;
    });
    set.add(wake);
    return { ended, cancel: () => set.delete(wake) };
  }

  private wakeWriteWaiters(k: string): void {
    const set = this.writeWaiters.get(k);
    if (!set || set.size === 0) return;
    const waiters = [...set];
    set.clear();
    for (const wake of waiters) wake();
  }

  /**
   * A cell was confirmed down: cut its reads loose so the data plane can resend them to the new primary.
   * Writes are left to end on their own (answer, error, or their deadline's timeout): the promotion waits
   * for them anyway (writesMayLandUntil), and cutting one loose would lose the news that a dead cell
   * answered it, turning an instant failover into a wait for its deadline.
   */
  abortInFlight(service: ServiceName, region: RegionName, reason: string): number {
    const map = this.inFlight.get(`${service}/${region}`);
    if (!map) return 0;
    let n = 0;
    for (const [controller, writeDeadline] of map) {
      if (writeDeadline !== undefined) continue;
      map.delete(controller);
      controller.abort(new Error(reason));
      n++;
    }
    return n;
  }

  /**
   * The promotion away from this cell waited until none of its writes can commit there any more (past
   * their deadlines or its lease): cut them loose too, so the data plane resends the retry-safe ones to
   * the new primary now instead of at their deadlines. (Not at confirmation, like the reads: until that
   * wait is over, a write's answer is the news that it did or did not land.)
   */
  abortInFlightWrites(service: ServiceName, region: RegionName, reason: string): number {
    const map = this.inFlight.get(`${service}/${region}`);
    if (!map) return 0;
    let n = 0;
    for (const [controller, writeDeadline] of map) {
      if (writeDeadline === undefined) continue;
      map.delete(controller);
      controller.abort(new Error(reason));
      n++;
    }
    if (n > 0) this.wakeWriteWaiters(`${service}/${region}`);
    return n;
  }

  /**
   * Unix ms until which a write sent to this cell may still be committed there: the latest deadline of
   * its writes in flight or given up on (0 when none). Before that moment, another region must not be
   * promoted, or the thawed cell could commit after the promotion (split brain). It falls as writes in
   * flight are answered: ask again rather than sleeping on one reading.
   */
  writesMayLandUntil(service: ServiceName, region: RegionName): number {
    const k = `${service}/${region}`;
    const inFlight = [...(this.inFlight.get(k)?.values() ?? [])].map((d) => d ?? 0);
    return Math.max(this.abandonedWritesUntil.get(k) ?? 0, 0, ...inFlight);
  }

  inFlightCount(service: ServiceName, region: RegionName): number {
    return this.inFlight.get(`${service}/${region}`)?.size ?? 0;
  }

  close(): void {
    for (const set of this.waiters.values()) {
      for (const w of set) {
        clearTimeout(w.timer);
        w.resolve(null);
      }
      set.clear();
    }
  }

  private wakeWaiters(service: ServiceName): void {
    const route = this.get(service);
    const set = this.waiters.get(service);
    if (!route?.serving || !set) return;
    for (const w of [...set]) {
      if (route.generation > w.after) {
        clearTimeout(w.timer);
        set.delete(w);
        w.resolve(route);
      }
    }
  }
}
