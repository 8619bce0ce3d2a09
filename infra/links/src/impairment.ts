// What the active faults do to one direction of one link: the contract's faults (by name) folded into
// the numbers a pipe applies. Pure, so the table of cases is tested without sockets.
import { directionOf, type Fault, type LinkEnd, type ServiceName } from '@failover-lab/contracts';

/** One direction of one link, as a pipe sees it: bytes travelling from `src` to `dst`. */
export interface Leg {
  src: LinkEnd;
  dst: LinkEnd;
  service: ServiceName;
}

export interface Impairment {
  latencyMs: number;
  jitterMs: number;
  /** 0: no cap */
  rateKbps: number;
  /** 0-1 */
  loss: number;
  blackhole: boolean;
}

/** A lost segment costs one retransmission: Linux's minimum RTO (TCP_RTO_MIN) is 200 ms. */
export const LOSS_STALL_MS = 200;

/** Does this fault hit bytes travelling src → dst (for this service)? */
export function hits(fault: Fault, leg: Leg): boolean {
  const { from, region, service } = fault.target;
  if (from === undefined) return false;
  if (service !== undefined && service !== leg.service) return false;
  const forward = from === leg.src && region === leg.dst;
  const backward = from === leg.dst && region === leg.src;
  if (!forward && !backward) return false;
  const direction = directionOf(fault);
  if (direction === 'both') return true;
  return direction === 'to' ? forward : backward;
}

/** The impairment of one leg under the active faults; null when nothing touches it (the fast path). */
export function impairmentOf(faults: readonly Fault[], leg: Leg): Impairment | null {
  let impairment: Impairment | null = null;
  for (const fault of faults) {
    if (!hits(fault, leg)) continue;
    impairment ??= { latencyMs: 0, jitterMs: 0, rateKbps: 0, loss: 0, blackhole: false };
    const a = fault.attributes ?? {};
    switch (fault.kind) {
      case 'link_latency':
        impairment.latencyMs += a.latency_ms ?? 0;
        impairment.jitterMs += a.jitter_ms ?? 0;
        break;
      case 'link_bandwidth':
        impairment.rateKbps =
          impairment.rateKbps === 0 ? (a.rate_kbps ?? 0) : Math.min(impairment.rateKbps, a.rate_kbps ?? 0);
        break;
      case 'link_loss':
        impairment.loss = Math.max(impairment.loss, (a.loss_pct ?? 0) / 100);
        break;
      case 'link_partition':
        impairment.blackhole = true;
        break;
      default:
        break;
    }
  }
  return impairment;
}

/** Same link (either way round), same service narrowing: a new fault of the same kind replaces it. */
export function sameLink(a: Fault, b: Fault): boolean {
  const ends = (f: Fault) => [f.target.from, f.target.region].sort().join('|');
  return ends(a) === ends(b) && a.target.service === b.target.service;
}

/**
 * The active faults after `fault`: a heal removes every fault on its link (for every service when it
 * names none); a reset changes nothing that lasts; anything else replaces a fault of its kind on the
 * same link and direction.
 */
export function withFault(active: readonly Fault[], fault: Fault): Fault[] {
  if (fault.kind === 'link_reset') return [...active];
  const onLink = (f: Fault) =>
    [f.target.from, f.target.region].sort().join('|') ===
    [fault.target.from, fault.target.region].sort().join('|');
  if (fault.kind === 'link_heal') {
    return active.filter(
      (f) => !onLink(f) || (fault.target.service !== undefined && f.target.service !== fault.target.service),
    );
  }
  const replaced = (f: Fault) =>
    f.kind === fault.kind &&
    sameLink(f, fault) &&
    f.target.from === fault.target.from &&
    directionOf(f) === directionOf(fault);
  return [...active.filter((f) => !replaced(f)), fault];
}
