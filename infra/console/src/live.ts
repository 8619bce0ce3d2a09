// What the page shows, kept current: the router's status and events, its metrics as chart points,
// the lab's process view. Polled over HTTP (the router's admin API, the lab's control API) and pushed
// to every open page as it changes. Polling is fast only while someone watches: the router every
// 200 ms and the lab every 500 ms, so a change reaches the page within 500 ms (plus the push).
import type { LabClient, LabStatus } from '@failover-lab/lab';
import { activeFaults } from './faults';
import { intervalPoint, type MetricsPoint, parseRouterMetrics, type RouterCounters } from './metrics';
import type { ControllerEvent, RouterClient, RouterStatus } from './router-client';

export interface SourceView<T> {
  ok: boolean;
  error: string | null;
  /** the last good answer (kept while the source fails, so the page can say how old it is) */
  value: T | null;
  updatedAt: string | null;
}

export type LiveMessage =
  | { kind: 'router'; router: SourceView<RouterStatus>; faults: string[] }
  | { kind: 'lab'; lab: SourceView<LabStatus>; faults: string[] }
  | { kind: 'events'; events: ControllerEvent[] }
  | { kind: 'point'; point: MetricsPoint };

export interface LiveIntervals {
  routerMs: number;
  labMs: number;
  metricsMs: number;
  /** router status and events while nobody watches (the chart points are kept at metricsMs) */
  idleRouterMs: number;
}

export const DEFAULT_INTERVALS: LiveIntervals = {
  routerMs: 200,
  labMs: 500,
  metricsMs: 1_000,
  idleRouterMs: 2_000,
};

const MAX_EVENTS = 500;
/** 10 minutes of 1 s points */
const MAX_POINTS = 600;

const eventKey = (e: ControllerEvent) =>
  `${e.at}|${e.type}|${e.service}|${e.region}|${e.epoch}|${e.detail ?? ''}`;

// Fields that change on every probe: they do not make a change worth pushing on their own.
const routerFingerprint = (s: RouterStatus) =>
  JSON.stringify(s.services, (key, value) => (key === 'lastProbeMs' || key === 'since' ? undefined : value));

export class Live {
  router: SourceView<RouterStatus> = { ok: false, error: 'not asked yet', value: null, updatedAt: null };
  lab: SourceView<LabStatus> | null;
  readonly events: ControllerEvent[] = [];
  readonly points: MetricsPoint[] = [];
  private readonly seen = new Set<string>();
  private lastCounters: RouterCounters | null = null;
  private routerPrint = '';
  private labPrint = '';
  private watchers = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly routerClient: RouterClient,
    private readonly labClient: LabClient | null,
    private readonly publish: (message: LiveMessage) => void,
    private readonly intervals: LiveIntervals = DEFAULT_INTERVALS,
  ) {
    this.lab = labClient ? { ok: false, error: 'not asked yet', value: null, updatedAt: null } : null;
  }

  faults(): string[] {
    return activeFaults(this.lab?.value ?? null, this.router.value);
  }

  start(): void {
    void this.loop(
      () => this.pollRouter(),
      () => (this.watchers > 0 ? this.intervals.routerMs : this.intervals.idleRouterMs),
    );
    void this.loop(
      () => this.pollMetrics(),
      () => this.intervals.metricsMs,
    );
    if (this.labClient)
      void this.loop(
        () => this.pollLab(),
        () => (this.watchers > 0 ? this.intervals.labMs : null),
      );
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.wake?.();
  }

  /** A page connected (or left): poll fast while anyone watches. */
  watch(): () => void {
    this.watchers++;
    this.wake?.();
    let done = false;
    return () => {
      if (!done) this.watchers--;
      done = true;
    };
  }

  /** After the console itself changed something: look now rather than at the next tick. */
  async refreshNow(): Promise<void> {
    await Promise.all([this.pollRouter(), this.labClient ? this.pollLab() : Promise.resolve()]);
  }

  /**
   * Runs `poll` forever, one at a time (a slow answer never piles up requests on a busy machine).
   * `every()` null = idle: wait until someone watches.
   */
  private async loop(poll: () => Promise<void>, every: () => number | null): Promise<void> {
    while (!this.stopped) {
      const interval = every();
      if (interval === null) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        continue;
      }
      const started = Date.now();
      await poll().catch(() => {});
      await this.sleep(Math.max(0, interval - (Date.now() - started)));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private async pollRouter(): Promise<void> {
    const since = this.events.at(-1)?.at;
    const [status, events] = await Promise.allSettled([
      this.routerClient.status(),
      // one millisecond back: two events in the same millisecond must not hide each other
      this.routerClient.events(since ? new Date(Date.parse(since) - 1).toISOString() : undefined),
    ]);
    const now = new Date().toISOString();
    let changed = false;
    if (status.status === 'fulfilled') {
      const print = routerFingerprint(status.value);
      changed = !this.router.ok || print !== this.routerPrint;
      this.routerPrint = print;
      this.router = { ok: true, error: null, value: status.value, updatedAt: now };
    } else {
      changed = this.router.ok || this.router.error !== (status.reason as Error).message;
      this.router = { ...this.router, ok: false, error: (status.reason as Error).message };
    }
    if (changed) this.publish({ kind: 'router', router: this.router, faults: this.faults() });
    if (events.status === 'fulfilled') {
      const fresh = events.value.filter((e) => !this.seen.has(eventKey(e)));
      for (const e of fresh) {
        this.seen.add(eventKey(e));
        this.events.push(e);
      }
      if (this.events.length > MAX_EVENTS) {
        for (const e of this.events.splice(0, this.events.length - MAX_EVENTS)) this.seen.delete(eventKey(e));
      }
      if (fresh.length) this.publish({ kind: 'events', events: fresh });
    }
  }

  private async pollLab(): Promise<void> {
    if (!this.labClient || !this.lab) return;
    const now = new Date().toISOString();
    try {
      const status = await this.labClient.status();
      const print = JSON.stringify(status, (key, value) => (key === 'uptimeMs' ? undefined : value));
      const changed = !this.lab.ok || print !== this.labPrint;
      this.labPrint = print;
      this.lab = { ok: true, error: null, value: status, updatedAt: now };
      if (changed) this.publish({ kind: 'lab', lab: this.lab, faults: this.faults() });
    } catch (err) {
      const changed = this.lab.ok || this.lab.error !== (err as Error).message;
      this.lab = { ...this.lab, ok: false, error: (err as Error).message };
      if (changed) this.publish({ kind: 'lab', lab: this.lab, faults: this.faults() });
    }
  }

  private async pollMetrics(): Promise<void> {
    let counters: RouterCounters;
    try {
      counters = parseRouterMetrics(await this.routerClient.metrics(), Date.now());
    } catch {
      this.lastCounters = null; // a gap in the chart, not a spike spread over the outage
      return;
    }
    const previous = this.lastCounters;
    this.lastCounters = counters;
    if (!previous) return;
    const point = intervalPoint(previous, counters);
    if (!point) return;
    this.points.push(point);
    if (this.points.length > MAX_POINTS) this.points.splice(0, this.points.length - MAX_POINTS);
    this.publish({ kind: 'point', point });
  }
}
