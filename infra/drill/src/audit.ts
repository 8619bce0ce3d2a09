// The ground-truth audit, pure part: compare what clients were told succeeded with what the new
// primary holds. The readers that fetch "what it holds" live in src/audit/*.ts.
import type { ServiceName } from '@failover-lab/contracts';
import { isAcknowledgedWrite, type RequestRecord } from './records';

export interface AuditFindings {
  ackedWrites: number;
  lostAckedWrites: number;
  duplicateWrites: number;
  invariants: Record<string, boolean>;
  /** up to 10 lost ids, for the report (ids are client-made, never secrets) */
  lostSample: string[];
  /** every lost id (the report keeps only the sample; the quarantine check needs all) */
  lostIds?: string[];
  /** acked writes lost but acknowledged in the async window just before the fault (RPO, not a bug) */
  lostInAsyncWindow: number;
  /** for up to 10 lost writes: how long before the fault each was acknowledged (negative: after it) */
  lostAckedBeforeFaultMs: number[];
  notes: string[];
}

/** Acknowledged writes of one service, one per write id (a retry that was acked twice is one write). */
export function acknowledgedWrites(
  records: RequestRecord[],
  service: ServiceName,
): Map<string, RequestRecord> {
  const acked = new Map<string, RequestRecord>();
  for (const r of records) {
    if (r.service !== service || !isAcknowledgedWrite(r)) continue;
    const earlier = acked.get(r.writeId!);
    if (!earlier || r.endMs < earlier.endMs) acked.set(r.writeId!, r);
  }
  return acked;
}

/**
 * `foundCount(id)` = how many times the new primary holds that write (0 = lost, >1 = applied twice).
 * A lost write acknowledged within `asyncWindowMs` before the fault is counted in lostInAsyncWindow as
 * well: for an async service that failed over it is the RPO the design accepts; anything older is a bug.
 */
export function compareAcked(
  acked: Map<string, RequestRecord>,
  foundCount: (id: string) => number,
  options: { faultMs: number; asyncWindowMs: number },
): Pick<
  AuditFindings,
  | 'ackedWrites'
  | 'lostAckedWrites'
  | 'duplicateWrites'
  | 'lostSample'
  | 'lostIds'
  | 'lostInAsyncWindow'
  | 'lostAckedBeforeFaultMs'
> {
  let lost = 0;
  let duplicates = 0;
  let lostInAsyncWindow = 0;
  const lostSample: string[] = [];
  const lostIds: string[] = [];
  const lostAckedBeforeFaultMs: number[] = [];
  for (const [id, record] of acked) {
    const count = foundCount(id);
    if (count === 0) {
      lost++;
      lostIds.push(id);
      if (lostSample.length < 10) {
        lostSample.push(id);
        lostAckedBeforeFaultMs.push(Math.round(options.faultMs - record.endMs));
      }
      if (record.endMs >= options.faultMs - options.asyncWindowMs) lostInAsyncWindow++;
    } else if (count > 1) {
      duplicates += count - 1;
    }
  }
  return {
    ackedWrites: acked.size,
    lostAckedWrites: lost,
    duplicateWrites: duplicates,
    lostSample,
    lostIds,
    lostInAsyncWindow,
    lostAckedBeforeFaultMs,
  };
}

export interface MoneyAudit {
  totalSeeded: number;
  totalNow: number;
  negativeAccounts: number;
}

export function paymentsInvariants(money: MoneyAudit, transfers: { lost: number; duplicates: number }) {
  return {
    moneyConserved: money.totalNow === money.totalSeeded,
    noNegativeBalance: money.negativeAccounts === 0,
    everyAckedTransferAppliedOnce: transfers.lost === 0 && transfers.duplicates === 0,
  };
}

/**
 * Messages acknowledged in the async window just before the fault may be missing after a failover:
 * that is the RPO of asynchronous replication, judged (and reported) by the verdict together with the
 * failover it depends on, not an invariant. Anything acknowledged earlier must be readable.
 */
export function messagingInvariants(compared: Pick<AuditFindings, 'lostAckedWrites' | 'lostInAsyncWindow'>) {
  return { ackedBeforeAsyncWindowReadable: compared.lostAckedWrites === compared.lostInAsyncWindow };
}
