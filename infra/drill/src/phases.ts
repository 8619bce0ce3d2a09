// The RTO broken into the controller's phases, from the router's events (GET /admin/events).
import type { ControllerEvent, Phases, ServiceName } from '@failover-lab/contracts';

/**
 * detect = fault → confirmed_down, decide = confirmed_down → promote_started,
 * promote = promote_started → promoted, route = promoted → routed. Each step takes the first event of
 * its type for the service at or after the previous step, so stale events from before the fault never
 * count. Null for a service that never started a promotion.
 */
export function phasesFor(events: ControllerEvent[], service: ServiceName, faultMs: number): Phases | null {
  const ofService = events
    .filter((e) => e.service === service)
    .map((e) => ({ type: e.type, ms: Date.parse(e.at) }))
    .filter((e) => Number.isFinite(e.ms) && e.ms >= faultMs)
    .sort((a, b) => a.ms - b.ms);
  const steps = ['confirmed_down', 'promote_started', 'promoted', 'routed'] as const;
  const times: (number | null)[] = [];
  let since = faultMs;
  for (const step of steps) {
    const hit = ofService.find((e) => e.type === step && e.ms >= since);
    times.push(hit ? hit.ms : null);
    if (hit) since = hit.ms;
  }
  // Phases describe a failover: a standby reported down (standby-loss) is no failover.
  if (times[1] === null && times[2] === null) return null;
  const span = (from: number | null, to: number | null) => (from === null || to === null ? null : to - from);
  return {
    detectMs: span(faultMs, times[0]!),
    decideMs: span(times[0]!, times[1]!),
    promoteMs: span(times[1]!, times[2]!),
    routeMs: span(times[2]!, times[3]!),
  };
}
