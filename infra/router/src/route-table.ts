// Where each service's traffic goes right now, and the waiting room for requests held during a failover.
import type { RegionName, ServiceName } from '@failover-lab/lab';

export interface Route {
  primary: RegionName;
  epoch: number;
  /** false while the primary is down, being promoted, or a switchover holds writes */
  serving: boolean;
  /** strict sync mode without a synchronous standby: writes are refused, reads still served */
  refuseWrites: boolean;
  /** bumped on every change; a request that failed on generation g waits for a later one */
  generation: number;
}

type Waiter = { after: number; resolve: (route: Route | null) => void; timer: NodeJS.Timeout };

export class RouteTable {
  private readonly routes = new Map<ServiceName, Route>();
  private readonly waiters = new Map<ServiceName, Set<Waiter>>();
  /** per service: a planned switchover holds the route regardless of health */
  private readonly holds = new Map<ServiceName, number>();
  /** per cell: requests in flight, with the deadline of each write (undefined for reads) */
  private readonly inFlight = new Map<string, Map<AbortController, number | undefined>>();
  /** per cell: the latest deadline of the writes cut loose by abortInFlight */
  private readonly abandonedWritesUntil = new Map<string, number>();

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
      current.refuseWrites === next.refuseWrites
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

  /** Register a proxied request so a confirmed-down cell's requests can be cut loose at once. */
  track(
    service: ServiceName,
    region: RegionName,
    controller: AbortController,
    writeDeadlineMs?: number,
  ): () => void {
    const k = `${service}/${region}`;
    const map = this.inFlight.get(k) ?? new Map<AbortController, number | undefined>();
    this.inFlight.set(k, map);
    map.set(controller, writeDeadlineMs);
    return () => map.delete(controller);
  }

  abortInFlight(service: ServiceName, region: RegionName, reason: string): number {
    const k = `${service}/${region}`;
    const map = this.inFlight.get(k);
    if (!map) return 0;
    const n = map.size;
    // Cutting a request loose does not take it out of a frozen cell's socket buffers: remember until
    // when the cell may still run the writes among them (it refuses them after their deadline).
    const until = Math.max(this.abandonedWritesUntil.get(k) ?? 0, ...[...map.values()].map((d) => d ?? 0));
    if (until > 0) this.abandonedWritesUntil.set(k, until);
    for (const c of map.keys()) c.abort(new Error(reason));
    map.clear();
    return n;
  }

  /**
   * Unix ms until which a write sent to this cell may still be committed there: the latest deadline of
   * its writes in flight or cut loose (0 when none). Before that moment, another region must not be
   * promoted, or the thawed cell could commit after the promotion (split brain).
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
