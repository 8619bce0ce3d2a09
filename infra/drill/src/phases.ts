// The RTO broken into the controller's phases, from the router's events (GET /admin/events).
import type { ControllerEvent, Phases, PromotionSteps, ServiceName } from '@failover-lab/contracts';

/**
 * detect = fault → confirmed_down, decide = confirmed_down → promote_started,
 * promote = promote_started → promoted, route = promoted → routed. Each step takes the first event of
 * its type for the service at or after the previous step, so stale events from before the fault never
 * count. `steps` is the promotion's own breakdown as the router's events carried it (see
 * PromotionStepsSchema). Null for a service that never started a promotion.
 */
export function phasesFor(events: ControllerEvent[], service: ServiceName, faultMs: number): Phases | null {
  const ofService = events
    .filter((e) => e.service === service)
    .map((e) => ({ type: e.type, ms: Date.parse(e.at), steps: e.steps }))
    .filter((e) => Number.isFinite(e.ms) && e.ms >= faultMs)
    .sort((a, b) => a.ms - b.ms);
  const steps = ['confirmed_down', 'promote_started', 'promoted', 'routed'] as const;
  const times: (number | null)[] = [];
  const hits: ((typeof ofService)[number] | undefined)[] = [];
  let since = faultMs;
  for (const step of steps) {
    const hit = ofService.find((e) => e.type === step && e.ms >= since);
    hits.push(hit);
    times.push(hit ? hit.ms : null);
    if (hit) since = hit.ms;
  }
  // The routed event completes the promoted one's breakdown with its route step.
  const breakdown = hits[3]?.steps ?? hits[2]?.steps;
  // Phases describe a failover: a standby reported down (standby-loss) is no failover.
  if (times[1] === null && times[2] === null) return null;
  const span = (from: number | null, to: number | null) => (from === null || to === null ? null : to - from);
  return {
    detectMs: span(faultMs, times[0]!),
    decideMs: span(times[0]!, times[1]!),
    promoteMs: span(times[1]!, times[2]!),
    routeMs: span(times[2]!, times[3]!),
    ...(breakdown ? { steps: breakdown } : {}),
  };
}

/** The words each promotion step goes by in reports and on the console, in the order they happen. */
export const STEP_LABELS: ReadonlyArray<readonly [keyof PromotionSteps, string]> = [
  ['probeMs', 'probe'],
  ['decideMs', 'decide'],
  ['leaseMs', 'lease'],
  ['writesMs', 'writes'],
  ['epochMs', 'epoch write'],
  ['checkMs', 'cell checks'],
  ['pgPromoteMs', 'pg_promote'],
  ['redisMs', 'Redis'],
  ['syncOffMs', 'sync off'],
  ['migrationsMs', 'migrations'],
  ['writableMs', 'grants + cell epoch'],
  ['markerMs', 'fence marker'],
  ['adminMs', 'promote call'],
  ['routeMs', 'route'],
];

/** "probe 52 ms · decide 1 ms · pg_promote 31 ms · …" (steps that were not measured are left out) */
export function describeSteps(steps: PromotionSteps | undefined): string {
  if (!steps) return '';
  return STEP_LABELS.filter(([key]) => steps[key] !== undefined)
    .map(([key, label]) => `${label} ${Math.round(steps[key]!)} ms`)
    .join(' · ');
}
