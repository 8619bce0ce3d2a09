// Open-model load: iterations arrive at a constant rate per op whatever the system does, so a failing
// backend can never lower the offered load (the closed-model trap: slow server → fewer requests → rosy
// numbers). In-flight iterations are bounded; an arrival that finds the bound reached is dropped and
// counted, never queued (a queue would turn an outage into latency later).

export interface ArrivalSpec {
  name: string;
  ratePerSec: number;
  /** one iteration; must not throw (record failures instead) — a throw is counted as an error */
  iterate: () => Promise<void>;
}

export interface OpenModelOptions {
  /** how long arrivals keep coming; a function is re-read on every tick, so the run can be extended */
  durationMs: number | (() => number);
  maxInFlight: number;
  /** how often the scheduler wakes up; arrivals missed by a late timer are caught up, not lost */
  tickMs?: number;
  /** called about every 250 ms with the running totals (the live progress line) */
  onProgress?: (summary: OpenModelSummary) => void;
  signal?: AbortSignal;
}

export interface OpenModelSummary {
  elapsedMs: number;
  scheduled: number;
  sent: number;
  dropped: number;
  inFlight: number;
  maxInFlight: number;
  iterationErrors: number;
  perOp: Record<string, { scheduled: number; sent: number; dropped: number }>;
}

export async function runOpenModel(
  specs: ArrivalSpec[],
  options: OpenModelOptions,
): Promise<OpenModelSummary> {
  const tickMs = options.tickMs ?? 5;
  const perOp: OpenModelSummary['perOp'] = {};
  for (const s of specs) {
    if (!(s.ratePerSec >= 0) || !Number.isFinite(s.ratePerSec)) throw new Error(`bad rate for ${s.name}`);
    perOp[s.name] = { scheduled: 0, sent: 0, dropped: 0 };
  }
  const running = new Set<Promise<void>>();
  const summary: OpenModelSummary = {
    elapsedMs: 0,
    scheduled: 0,
    sent: 0,
    dropped: 0,
    inFlight: 0,
    maxInFlight: 0,
    iterationErrors: 0,
    perOp,
  };
  const started = performance.now();
  let lastProgress = 0;

  const launch = (spec: ArrivalSpec) => {
    const counts = perOp[spec.name]!;
    counts.scheduled++;
    summary.scheduled++;
    if (running.size >= options.maxInFlight) {
      counts.dropped++;
      summary.dropped++;
      return;
    }
    counts.sent++;
    summary.sent++;
    const iteration = spec
      .iterate()
      .catch(() => {
        summary.iterationErrors++;
      })
      .finally(() => running.delete(iteration));
    running.add(iteration);
    summary.maxInFlight = Math.max(summary.maxInFlight, running.size);
  };

  const durationMs =
    typeof options.durationMs === 'function' ? options.durationMs : () => options.durationMs as number;
  while (!options.signal?.aborted) {
    const duration = durationMs();
    const elapsed = Math.min(performance.now() - started, duration);
    // Arrivals due by now: floor(elapsed × rate). Catching up keeps the rate exact over the run even
    // when the event loop is late (a busy 2-core machine), at the cost of small bursts.
    for (const spec of specs) {
      const due = Math.floor((elapsed / 1000) * spec.ratePerSec);
      while (perOp[spec.name]!.scheduled < due) launch(spec);
    }
    summary.elapsedMs = elapsed;
    summary.inFlight = running.size;
    if (options.onProgress && elapsed - lastProgress >= 250) {
      lastProgress = elapsed;
      options.onProgress(summary);
    }
    if (elapsed >= duration) break;
    await new Promise((resolve) => setTimeout(resolve, tickMs));
  }
  await Promise.all(running);
  summary.inFlight = 0;
  summary.elapsedMs = performance.now() - started;
  return summary;
}
