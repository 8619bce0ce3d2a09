// "Traffic": the drill's own workload (same ops, ids and retries) put on the router by the console,
// with no fault, until stopped. Its per-service counts are ground truth (what the clients saw); every
// request is also appended to drill-out/console/traffic-<time>.jsonl, one RequestRecord per line.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import {
  AdminApi,
  LocalBackend,
  RecordingClient,
  type RequestRecord,
  runOpenModel,
  setUpDrill,
  workload,
} from '@failover-lab/drill';
import { type LabClient, SERVICES, type ServiceName } from '@failover-lab/lab';
import { ConsoleError } from './errors';

export interface TrafficCounts {
  sent: number;
  ok: number;
  failed: number;
  /** error code → count, for the failed ones */
  errors: Record<string, number>;
}

export interface TrafficState {
  state: 'idle' | 'starting' | 'running' | 'stopping' | 'failed';
  ratePerSec: number | null;
  startedAt: string | null;
  stoppedAt: string | null;
  error: string | null;
  /** path of the records file, relative to the drill-out folder */
  recordsFile: string | null;
  dropped: number;
  services: Record<ServiceName, TrafficCounts>;
}

export interface TrafficDeps {
  lab: LabClient;
  routerUrl: string;
  secrets: () => { adminToken: string; appPassword: string };
  drillOutDir: string;
  onChange: (state: TrafficState) => void;
  /** a forgotten traffic run stops by itself */
  maxDurationMs?: number;
}

// Sign-ins and sign-ups cost ~0.6 s of scrypt CPU each on a 2-core machine: they would put the
// login cell's own overload on the charts, not the failover. The console leaves them to the drills.
const CONSOLE_OPS_EXCLUDED = new Set(['signin', 'signup']);

const emptyCounts = (): Record<ServiceName, TrafficCounts> =>
  Object.fromEntries(SERVICES.map((s) => [s, { sent: 0, ok: 0, failed: 0, errors: {} }])) as Record<
    ServiceName,
    TrafficCounts
  >;

export class Traffic {
  private current: TrafficState = {
    state: 'idle',
    ratePerSec: null,
    startedAt: null,
    stoppedAt: null,
    error: null,
    recordsFile: null,
    dropped: 0,
    services: emptyCounts(),
  };
  private abort: AbortController | null = null;
  private done: Promise<void> = Promise.resolve();
  private changed = false;
  private readonly flushTimer: NodeJS.Timeout;

  constructor(private readonly deps: TrafficDeps) {
    // Counts change with every request: the browser gets them at most 4 times a second.
    this.flushTimer = setInterval(() => this.flush(), 250);
    this.flushTimer.unref();
  }

  state(): TrafficState {
    return this.current;
  }

  private set(patch: Partial<TrafficState>) {
    this.current = { ...this.current, ...patch };
    this.changed = true;
    this.flush();
  }

  private flush() {
    if (!this.changed) return;
    this.changed = false;
    this.deps.onChange(structuredClone(this.current));
  }

  start(ratePerSec: number): void {
    if (
      this.current.state === 'starting' ||
      this.current.state === 'running' ||
      this.current.state === 'stopping'
    ) {
      throw new ConsoleError('CONSOLE_ERR_BUSY', `traffic is already ${this.current.state}`);
    }
    const abort = new AbortController();
    this.abort = abort;
    const started = new Date();
    const recordsFile = join('console', `traffic-${started.toISOString().replace(/[:.]/g, '-')}.jsonl`);
    this.set({
      state: 'starting',
      ratePerSec,
      startedAt: started.toISOString(),
      stoppedAt: null,
      error: null,
      recordsFile,
      dropped: 0,
      services: emptyCounts(),
    });
    this.done = this.run(ratePerSec, abort, join(this.deps.drillOutDir, recordsFile)).catch((err: Error) => {
      this.set({ state: 'failed', error: err.message, stoppedAt: new Date().toISOString() });
    });
  }

  /** Stops the arrivals, waits for the requests in flight, closes the records file. */
  async stop(): Promise<TrafficState> {
    if (this.current.state === 'idle' || this.current.state === 'failed') return this.current;
    if (this.current.state !== 'stopping') this.set({ state: 'stopping' });
    this.abort?.abort();
    await this.done;
    return this.current;
  }

  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.stop();
  }

  private async run(ratePerSec: number, abort: AbortController, file: string): Promise<void> {
    const { adminToken, appPassword } = this.deps.secrets();
    const backend = new LocalBackend(this.deps.lab, {
      cells: this.deps.lab.topo.cells,
      adminToken,
      appPassword,
    });
    const admin = new AdminApi(this.deps.routerUrl, backend, adminToken);
    const quiet = new RecordingClient(this.deps.routerUrl, { timeoutMs: 10_000 });
    mkdirSync(join(file, '..'), { recursive: true });
    const out: WriteStream = createWriteStream(file, { flags: 'wx', mode: 0o644 });
    const load = new RecordingClient(this.deps.routerUrl, {
      timeoutMs: 5_000,
      connections: 32,
      onRecord: (r: RequestRecord) => {
        const counts = this.current.services[r.service];
        counts.sent++;
        if (r.ok) counts.ok++;
        else {
          counts.failed++;
          const code = r.error ?? `HTTP_${r.status}`;
          counts.errors[code] = (counts.errors[code] ?? 0) + 1;
        }
        this.changed = true;
        out.write(`${JSON.stringify(r)}\n`);
      },
    });
    const stopTimer = setTimeout(() => abort.abort(), this.deps.maxDurationMs ?? 30 * 60_000);
    try {
      const runTag = `console${Date.now().toString(36)}`;
      const setup = await setUpDrill(quiet, admin, {
        users: 4,
        rooms: 8,
        seed: Date.now() % 100_000,
        runTag,
      });
      if (abort.signal.aborted) return;
      const specs = workload(load, setup.state, ratePerSec).filter((s) => !CONSOLE_OPS_EXCLUDED.has(s.name));
      // the excluded ops' share goes to the others, so the total offered rate is what was asked
      const share = specs.reduce((a, s) => a + s.ratePerSec, 0) / ratePerSec;
      for (const s of specs) s.ratePerSec /= share;
      this.set({ state: 'running' });
      const summary = await runOpenModel(specs, {
        durationMs: Number.MAX_SAFE_INTEGER,
        maxInFlight: 200,
        signal: abort.signal,
        onProgress: (s) => {
          if (s.dropped !== this.current.dropped) {
            this.current.dropped = s.dropped;
            this.changed = true;
          }
        },
      });
      this.current.dropped = summary.dropped;
    } finally {
      clearTimeout(stopTimer);
      await Promise.all([quiet.close(), load.close()]);
      await new Promise<void>((resolve) => out.end(resolve));
      if (this.current.state !== 'failed') this.set({ state: 'idle', stoppedAt: new Date().toISOString() });
    }
  }
}
