// Synthetic records for the measurement tests: a steady service, a fault, an outage, a recovery.
import type { ServiceName } from '@failover-lab/contracts';
import type { Op, RequestRecord } from '../src/records';

export function record(partial: Partial<RequestRecord> & { startMs: number }): RequestRecord {
  return {
    service: 'payments',
    op: 'balance',
    endMs: partial.startMs + 5,
    status: 200,
    ok: true,
    servedBy: 'dc-a',
    writeId: null,
    error: null,
    ...partial,
  };
}

/** One request every `everyMs` from `fromMs` to `toMs`; those starting in [downFrom, downTo) fail. */
export function steadyWithOutage(opts: {
  service?: ServiceName;
  op?: Op;
  fromMs: number;
  toMs: number;
  everyMs: number;
  downFrom: number;
  downTo: number;
}): RequestRecord[] {
  const out: RequestRecord[] = [];
  for (let t = opts.fromMs; t < opts.toMs; t += opts.everyMs) {
    const down = t >= opts.downFrom && t < opts.downTo;
    out.push(
      record({
        service: opts.service ?? 'payments',
        op: opts.op ?? 'balance',
        startMs: t,
        endMs: t + (down ? 50 : 5),
        status: down ? 503 : 200,
        ok: !down,
        servedBy: down ? null : t >= opts.downTo ? 'dc-b' : 'dc-a',
        error: down ? 'ROUTER_ERR_NO_PRIMARY' : null,
      }),
    );
  }
  return out;
}
