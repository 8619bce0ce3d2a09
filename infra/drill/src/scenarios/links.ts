// Pieces the link drills share: which link a drill cuts, holding a fault for a while under load,
// healing, and the checks a slow or cut link calls for.
import {
  type ControllerEvent,
  type Fault,
  type FaultTarget,
  otherRegion,
  type RegionName,
  SERVICES,
  type ServiceName,
} from '@failover-lab/contracts';
import type { RequestRecord } from '../records';
import { waitForSteadyState } from '../steady-state';
import { primaries, RESET_TIMEOUT_MS } from './common';
import type { Check, ScenarioContext } from './scenario';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** link_heal of the link a fault is on (both directions, every service on it). */
export function healOf(fault: Fault): Fault {
  const { from, region } = fault.target;
  return { kind: 'link_heal', target: { from, region } as FaultTarget };
}

/** Where payments' primary is (the region the edge drills hit), and the standby's region. */
export async function primaryRegion(ctx: ScenarioContext): Promise<{
  primary: RegionName;
  standby: RegionName;
  there: ServiceName[];
  elsewhere: ServiceName[];
}> {
  const where = await primaries(ctx);
  const primary = where.payments;
  const there = SERVICES.filter((s) => where[s] === primary);
  return {
    primary,
    standby: otherRegion(primary),
    there,
    elsewhere: SERVICES.filter((s) => !there.includes(s)),
  };
}

/** Heal every link and wait for the steady state (every standby streaming, payments in sync). */
export async function healAndSettle(ctx: ScenarioContext, fault: Fault): Promise<void> {
  ctx.log(`reset: healing ${fault.target.from}→${fault.target.region}`);
  await ctx.backend.faults.apply(healOf(fault));
  await waitForSteadyState(ctx.admin, RESET_TIMEOUT_MS);
}

export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** p99 latency of the requests of `services` sent within [fromMs, toMs). */
export function p99Within(
  records: RequestRecord[],
  services: readonly ServiceName[],
  fromMs: number,
  toMs: number,
) {
  return percentile(
    records
      .filter((r) => services.includes(r.service) && r.startMs >= fromMs && r.startMs < toMs)
      .map((r) => r.endMs - r.startMs),
    99,
  );
}

/**
 * "Must not hang": every payments request sent after the fault got an answer (success or a refusal
 * with a code) within `boundMs`; a request the client gave up on is a hang.
 */
export function answeredWithin(
  records: RequestRecord[],
  service: ServiceName,
  faultMs: number,
  boundMs: number,
): Check {
  const after = records.filter((r) => r.service === service && r.startMs >= faultMs);
  const slow = after.filter((r) => r.status === 0 || r.endMs - r.startMs > boundMs);
  const worst = Math.max(0, ...after.map((r) => r.endMs - r.startMs));
  return {
    name: `${service} answers every request within ${boundMs} ms (degrades or refuses, never hangs)`,
    ok: slow.length === 0,
    detail: `${slow.length} of ${after.length} request(s) unanswered or slower; slowest ${Math.round(worst)} ms`,
  };
}

/** Promotions per service after the fault: more than one is a ping-pong. */
export function promotions(events: ControllerEvent[], faultMs: number): Record<ServiceName, number> {
  return Object.fromEntries(
    SERVICES.map((s) => [
      s,
      events.filter((e) => e.service === s && e.type === 'promoted' && Date.parse(e.at) >= faultMs).length,
    ]),
  ) as Record<ServiceName, number>;
}

/** How often the router suspected a cell during the fault: the margin a latency fault left. */
export function suspicions(events: ControllerEvent[], faultMs: number, untilMs: number): number {
  return events.filter(
    (e) => e.type === 'suspected' && Date.parse(e.at) >= faultMs && Date.parse(e.at) < untilMs,
  ).length;
}
