// One run: open-model load (the drill's generator: constant arrival rate whatever the system does),
// the fault after a warm-up, and the load kept on until every request has succeeded for `tailMs`
// (long enough to see a second, spurious failover) or the cap is reached.
import { readFileSync } from 'node:fs';
import { type OpenModelSummary, runOpenModel } from '../../../infra/drill/src/load/open-model';
import { failedAfterFault, type OpRecord, recoveryMs } from './measure';

/** A system's client, used the way its own users use it (SQL through HAProxy, ioredis, HTTP). */
export interface BenchClient {
  /** resolves once the write is acknowledged; the same id may come again (a retry) */
  write(id: string): Promise<void>;
  read(lastAckedId: string | undefined): Promise<void>;
  /** a short stable code for a failure (SQLSTATE, errno, HTTP status, error class) */
  errorCode(err: unknown): string;
}

export interface FaultRunOptions {
  client: BenchClient;
  ratePerSec: number;
  writeShare: number;
  warmupMs: number;
  tailMs: number;
  maxAfterFaultMs: number;
  /** the client gives up on a request after this (the drill's client uses 5 s too) */
  timeoutMs: number;
  idPrefix: string;
  /** kills the primary; resolves with the wall-clock time taken right before the first signal */
  inject: () => Promise<number>;
  log: (line: string) => void;
}

export interface FaultRunResult {
  records: OpRecord[];
  faultMs: number;
  endMs: number;
  acked: Set<string>;
  attempted: Set<string>;
  load: OpenModelSummary;
  /** 1-minute load average, sampled once a second during the run */
  loadAverage: number[];
}

export const wallNow = () => performance.timeOrigin + performance.now();

export function loadAverage1m(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

export class ClientTimeout extends Error {
  override readonly name = 'ClientTimeout';
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClientTimeout(`no answer in ${ms} ms`)), ms);
  });
  promise.catch(() => {}); // it may still reject after the timeout; nobody is listening then
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

export async function runFaultUnderLoad(opts: FaultRunOptions): Promise<FaultRunResult> {
  const records: OpRecord[] = [];
  const acked = new Set<string>();
  const attempted = new Set<string>();
  const retries: string[] = [];
  let lastAcked: string | undefined;
  let seq = 0;
  const loadAverage: number[] = [loadAverage1m()];
  const sampler = setInterval(() => loadAverage.push(loadAverage1m()), 1_000);

  const attempt = async (op: 'write' | 'read', id: string | undefined, call: () => Promise<void>) => {
    const startMs = wallNow();
    try {
      await withTimeout(call(), opts.timeoutMs);
      records.push({ op, startMs, endMs: wallNow(), ok: true, error: null, ...(id ? { id } : {}) });
      return true;
    } catch (err) {
      const error = err instanceof ClientTimeout ? 'CLIENT_TIMEOUT' : opts.client.errorCode(err);
      records.push({ op, startMs, endMs: wallNow(), ok: false, error, ...(id ? { id } : {}) });
      return false;
    }
  };

  const stop = new AbortController();
  const loadDone = runOpenModel(
    [
      {
        name: 'write',
        ratePerSec: opts.ratePerSec * opts.writeShare,
        iterate: async () => {
          // A write without an answer is retried later with the same id, as the drill's clients do:
          // that is how an applied-but-unanswered write turns into a duplicate the audit can see.
          const id = retries.shift() ?? `${opts.idPrefix}-${seq++}`;
          attempted.add(id);
          if (await attempt('write', id, () => opts.client.write(id))) {
            acked.add(id);
            lastAcked = id;
          } else retries.push(id);
        },
      },
      {
        name: 'read',
        ratePerSec: opts.ratePerSec * (1 - opts.writeShare),
        iterate: async () => {
          await attempt('read', undefined, () => opts.client.read(lastAcked));
        },
      },
    ],
    {
      durationMs: opts.warmupMs + opts.maxAfterFaultMs + opts.tailMs,
      // far above rate × timeout: an arrival is never dropped, every one becomes a record
      maxInFlight: 2_000,
      signal: stop.signal,
    },
  );

  let faultMs = Number.NaN;
  // a failed start or fault still lets the requests in flight finish before the caller tears down
  loadDone.catch(() => {});
  try {
    await sleep(opts.warmupMs);
    const warmFailures = records.filter((r) => !r.ok).length;
    if (records.length === 0) throw new Error(`no request was answered in the ${opts.warmupMs} ms warm-up`);
    if (warmFailures > records.length / 2) {
      throw new Error(
        `the system is not serving before the fault (${warmFailures}/${records.length} failed)`,
      );
    }
    faultMs = await opts.inject();
    let lastProgress = faultMs;
    while (wallNow() - faultMs < opts.maxAfterFaultMs) {
      await sleep(200);
      const now = wallNow();
      const rto = recoveryMs(records, faultMs);
      if (rto !== null && now - (faultMs + rto) >= opts.tailMs) break;
      if (now - lastProgress >= 5_000) {
        lastProgress = now;
        opts.log(
          `    +${((now - faultMs) / 1000).toFixed(0)} s: ${failedAfterFault(records, faultMs)} failed so far` +
            (rto === null ? ', not recovered yet' : `, serving again since +${(rto / 1000).toFixed(2)} s`),
        );
      }
    }
  } finally {
    stop.abort();
    clearInterval(sampler);
  }
  const load = await loadDone;
  return {
    records: records.sort((a, b) => a.startMs - b.startMs),
    faultMs,
    endMs: wallNow(),
    acked,
    attempted,
    load,
    loadAverage,
  };
}
