// Recovery measured from what the clients saw (the ground truth), per service.
import type { RequestRecord } from './records';

export interface ServiceRecovery {
  requests: number;
  failed: number;
  /** fault → start of the first interval after which every request succeeds; null = never; 0 = never interrupted */
  rtoMs: number | null;
  /** longest time after the fault without a single successful response */
  maxStallMs: number;
  /** when recovery began (epoch ms), null if never or never interrupted */
  recoveredAtMs: number | null;
}

/**
 * RTO from the records of one service. Requests started before the fault are excluded from the RTO
 * (they may be unlucky without the fault having reached anyone); all of them count in requests/failed.
 * `loadEndMs` closes the last stall when the service never answered again.
 */
export function measureRecovery(
  records: RequestRecord[],
  faultMs: number,
  loadEndMs: number,
): ServiceRecovery {
  const failed = records.filter((r) => !r.ok).length;
  const afterFault = records.filter((r) => r.startMs >= faultMs).sort((a, b) => a.startMs - b.startMs);
  return {
    requests: records.length,
    failed,
    ...rtoOf(afterFault, faultMs),
    maxStallMs: longestStall(records, faultMs, loadEndMs),
  };
}

function rtoOf(
  afterFault: RequestRecord[],
  faultMs: number,
): Pick<ServiceRecovery, 'rtoMs' | 'recoveredAtMs'> {
  let lastFailure = -1;
  for (let i = 0; i < afterFault.length; i++) if (!afterFault[i]!.ok) lastFailure = i;
  if (lastFailure === -1) return { rtoMs: 0, recoveredAtMs: null };
  const firstOfGoodRun = afterFault[lastFailure + 1];
  if (!firstOfGoodRun) return { rtoMs: null, recoveredAtMs: null };
  return { rtoMs: Math.max(0, firstOfGoodRun.startMs - faultMs), recoveredAtMs: firstOfGoodRun.startMs };
}

/** The longest gap, after the fault, between two successful responses (by end time). */
function longestStall(records: RequestRecord[], faultMs: number, loadEndMs: number): number {
  const successEnds = records
    .filter((r) => r.ok && r.endMs >= faultMs)
    .map((r) => r.endMs)
    .sort((a, b) => a - b);
  let previous = faultMs;
  let longest = 0;
  for (const end of successEnds) {
    longest = Math.max(longest, end - previous);
    previous = end;
  }
  return Math.max(longest, Math.max(0, loadEndMs - previous));
}
