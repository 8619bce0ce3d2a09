// The supervisor's process table: every process the lab started, what it should be doing, and the
// in-place restart of a crashed app or router (with backoff). Faults change intents here; nothing
// else signals a lab process.
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { FaultTarget, ProcessState, RegionName, ServiceName } from '@failover-lab/contracts';
import type { LabPaths } from './paths';
import {
  hasExited,
  isStopped,
  processFamily,
  signalFamily,
  signalPids,
  waitGone,
  writePidFile,
} from './process';

export type Kind = 'postgres' | 'redis' | 'app' | 'router' | 'console' | 'prometheus' | 'links';
/** What the supervisor wants a process to be doing; only `running` ones are restarted. */
export type Intent = 'running' | 'killed' | 'frozen' | 'stopped';

export interface Managed {
  id: string;
  kind: Kind;
  service?: ServiceName;
  region?: RegionName;
  logFile: string;
  child: ChildProcess;
  intent: Intent;
  restarts: number;
  /** consecutive crashes, for the backoff; reset after a run that lasted */
  crashStreak: number;
  startedAt: number;
  restartTimer?: NodeJS.Timeout;
  /** apps and router: how to start a replacement after a crash */
  respawn?: () => ChildProcess;
}

export interface TrackMeta {
  service?: ServiceName;
  region?: RegionName;
  logFile: string;
  respawn?: () => ChildProcess;
}

const RESTART_BACKOFF_MS = { first: 250, max: 10_000, stableAfter: 10_000 };

export const componentId = (service: ServiceName, region: RegionName, kind: Kind) =>
  `${service}-${region}-${kind}`;

export class ProcessTable {
  private readonly managed = new Map<string, Managed>();
  private stopping = false;

  constructor(
    private readonly paths: LabPaths,
    private readonly log: (line: string) => void,
  ) {}

  get(id: string): Managed | undefined {
    return this.managed.get(id);
  }

  track(id: string, kind: Kind, child: ChildProcess, meta: TrackMeta): Managed {
    const previous = this.managed.get(id);
    const entry: Managed = {
      id,
      kind,
      child,
      intent: 'running',
      restarts: previous?.restarts ?? 0,
      crashStreak: previous?.crashStreak ?? 0,
      startedAt: Date.now(),
      ...meta,
    };
    this.managed.set(id, entry);
    writePidFile(this.paths.pidFile(id), child.pid!);
    // a step still in flight when a failed `up` stopped everything must not leave a process behind
    if (this.stopping) void this.stop(entry, 'SIGKILL');
    child.once('exit', (code, signal) => this.onExit(entry, code, signal));
    return entry;
  }

  private onExit(entry: Managed, code: number | null, signal: NodeJS.Signals | null) {
    if (this.managed.get(entry.id)?.child !== entry.child) return; // an older incarnation
    rmSync(this.paths.pidFile(entry.id), { force: true });
    if (this.stopping || entry.intent !== 'running') return;
    const how = signal ?? `code ${code}`;
    if (!entry.respawn) {
      // A data store or Prometheus that dies stays dead: that is a fault for the router to handle.
      this.log(`${entry.id} exited (${how}); not restarted (log: ${entry.logFile})`);
      return;
    }
    // A crash is not a region loss: restart in place, with backoff.
    if (Date.now() - entry.startedAt > RESTART_BACKOFF_MS.stableAfter) entry.crashStreak = 0;
    const delay = Math.min(RESTART_BACKOFF_MS.max, RESTART_BACKOFF_MS.first * 2 ** entry.crashStreak);
    entry.crashStreak++;
    this.log(`${entry.id} crashed (${how}); restarting in ${delay} ms`);
    entry.restartTimer = setTimeout(() => {
      entry.restartTimer = undefined;
      if (this.stopping || entry.intent !== 'running' || this.managed.get(entry.id) !== entry) return;
      this.respawn(entry);
    }, delay);
  }

  /** Starts a replacement of a crashed app or router now. */
  respawn(entry: Managed) {
    const { service, region, logFile, respawn } = entry;
    const next = this.track(entry.id, entry.kind, respawn!(), { service, region, logFile, respawn });
    next.restarts = entry.restarts + 1;
  }

  alive(entry: Managed | undefined): entry is Managed {
    return entry !== undefined && !hasExited(entry.child);
  }

  /** Alive and stopped by SIGSTOP. */
  frozen(entry: Managed | undefined): entry is Managed {
    return this.alive(entry) && isStopped(entry.child.pid!);
  }

  state(entry: Managed | undefined): ProcessState {
    if (!this.alive(entry)) return 'down';
    return isStopped(entry.child.pid!) ? 'frozen' : 'up';
  }

  /** What a fault target reaches: the region's processes, narrowed to a service and/or a component. */
  reachedBy(target: FaultTarget): Managed[] {
    return [...this.managed.values()].filter(
      (m) =>
        m.region === target.region &&
        (target.service === undefined || m.service === target.service) &&
        (target.component === undefined || m.kind === target.component),
    );
  }

  /** Sets an intent that stops restarts, and cancels a pending restart. */
  settle(m: Managed, intent: Intent) {
    m.intent = intent;
    if (m.restartTimer) clearTimeout(m.restartTimer);
    m.restartTimer = undefined;
  }

  /** Stops one process: politely first (Postgres: fast shutdown), then SIGKILL. */
  async stop(m: Managed | undefined, signal: NodeJS.Signals = 'SIGTERM') {
    if (!m) return;
    this.settle(m, 'stopped');
    // An exited leader's pid may already belong to someone else: never signal it.
    const family = this.alive(m) ? processFamily(m.child.pid!) : [];
    const t0 = Date.now();
    if (family.length) {
      // SIGKILL reaches a frozen process as it is: resuming it first would let a stale primary
      // commit for an instant. Anything politer needs it resumed (a frozen process cannot act on it).
      if (signal === 'SIGKILL') signalFamily(m.child.pid!, 'SIGKILL');
      else {
        signalPids(family, 'SIGCONT');
        // Postgres: SIGINT to the postmaster alone = fast shutdown (it tells its backends).
        if (m.kind === 'postgres') m.child.kill('SIGINT');
        else signalPids(family, signal);
      }
      if (!(await waitGone(family, m.kind === 'postgres' ? 15_000 : 5_000))) {
        signalPids(family, 'SIGKILL');
        await waitGone(family, 5_000);
      }
      this.log(`${m.id} stopped (${signal === 'SIGKILL' ? 'killed' : 'shut down'}) in ${Date.now() - t0} ms`);
    }
    rmSync(this.paths.pidFile(m.id), { force: true });
  }

  /** Stops everything: node processes first (they hold connections), then the data tier. */
  async stopAll() {
    this.stopping = true;
    const all = [...this.managed.values()];
    const nodeKinds: Kind[] = ['app', 'router', 'console'];
    await Promise.all(all.filter((m) => nodeKinds.includes(m.kind)).map((m) => this.stop(m)));
    await Promise.all(all.filter((m) => !nodeKinds.includes(m.kind)).map((m) => this.stop(m)));
  }
}
