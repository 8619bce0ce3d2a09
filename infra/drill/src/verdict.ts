// Expected outcome → verdict. Pure: every reason is a sentence a reader can act on.
import {
  type DrillStep,
  REPLICATION_MODE,
  SERVICES,
  type ServiceName,
  type ServiceReport,
} from '@failover-lab/contracts';
import { RETRY_SAFE_OPS } from './records';

export interface Expectation {
  /** services that must fail over (promote the standby) */
  failsOver: readonly ServiceName[];
  /** services that may fail over once or not at all (a flapping link: either is right) */
  mayFailOver?: readonly ServiceName[];
  /** services that must not notice the fault at all (no failed request) */
  unaffected: readonly ServiceName[];
  /**
   * active-active services: their users move to the other region with no promotion (one that is
   * promoted is a bug); they may lose what the lost region acknowledged and had not replicated yet
   */
  movesWithoutPromotion?: readonly ServiceName[];
  /**
   * Services whose retry-safe requests (RETRY_SAFE_OPS) may fail in this drill, each with the reason the
   * platform cannot hold or resend them (an app restarting in place refuses connections the router
   * cannot hold for long). Any other failed retry-safe request fails the drill.
   */
  retrySafeFailuresExpected?: Partial<Record<ServiceName, string>>;
}

/**
 * Acknowledged writes whose loss is the RPO the design accepts: an async service that failed over may
 * lose what was acknowledged in the last instant before the fault (its standby had not received it
 * yet). Anything else lost is a bug; a sync service may lose nothing. The report lists these losses
 * under "Data lost (RPO)", never silently.
 */
export function acceptedRpoLoss(
  service: ServiceName,
  s: Pick<ServiceReport, 'failedOver' | 'lostInAsyncWindow' | 'replication'>,
  movedWithoutPromotion = false,
): number {
  return (s.replication ?? REPLICATION_MODE[service]) === 'async' && (s.failedOver || movedWithoutPromotion)
    ? s.lostInAsyncWindow
    : 0;
}

export function judge(
  expectation: Expectation,
  services: Record<ServiceName, ServiceReport>,
  checks: { name: string; ok: boolean; detail: string }[],
): { verdict: 'pass' | 'fail'; reasons: string[] } {
  const reasons: string[] = [];
  for (const service of SERVICES) {
    const s = services[service];
    if (s.rtoMs === null)
      reasons.push(`${service} never recovered: requests still failed at the end of the load`);
    const mustFailOver = expectation.failsOver.includes(service);
    const activeActive = expectation.movesWithoutPromotion?.includes(service) ?? false;
    if (activeActive && s.failedOver)
      reasons.push(`${service} is active-active: a region loss must move its users, not promote anything`);
    if (mustFailOver && !s.failedOver)
      reasons.push(`${service} was expected to fail over but no promotion was seen`);
    if (!mustFailOver && !activeActive && s.failedOver && !expectation.mayFailOver?.includes(service))
      reasons.push(`${service} failed over although the fault should not move it`);
    if (expectation.unaffected.includes(service) && s.failed > 0) {
      reasons.push(
        `${service} should be unaffected but ${s.failed} request(s) failed (${topErrors(s.errors)})`,
      );
    }
    const retrySafe = retrySafeFailures(s.errors);
    const unaffectedReported = expectation.unaffected.includes(service) && s.failed > 0;
    if (retrySafe.count > 0 && !unaffectedReported && !expectation.retrySafeFailuresExpected?.[service]) {
      reasons.push(
        `${service}: ${retrySafe.count} retry-safe request(s) failed (${topErrors(retrySafe.errors)}); ` +
          'the router holds or resends these through a failover, so none may fail',
      );
    }
    const tolerated = acceptedRpoLoss(service, s, activeActive);
    if (s.lostAckedWrites > tolerated) {
      reasons.push(
        `${service} lost ${s.lostAckedWrites} acknowledged write(s)` +
          (tolerated > 0 ? ` (${tolerated} within the async RPO window)` : '') +
          `, e.g. ${s.lostSample.slice(0, 3).join(', ')}`,
      );
    }
    if (s.duplicateWrites > 0)
      reasons.push(`${service} applied ${s.duplicateWrites} write(s) more than once`);
    for (const [name, holds] of Object.entries(s.invariants)) {
      if (!holds) reasons.push(`${service} invariant broken: ${name}`);
    }
  }
  for (const check of checks) if (!check.ok) reasons.push(`${check.name}: ${check.detail}`);
  return { verdict: reasons.length === 0 ? 'pass' : 'fail', reasons };
}

/**
 * A drill that chains faults fails at the first step that lost or duplicated an acknowledged write or
 * failed a check, even if a later step hides it (the final audit alone would blame the wrong step, or
 * nothing: a rebuilt region replays the loss as the new truth).
 */
export function stepReasons(
  steps: readonly DrillStep[],
  services: Record<ServiceName, ServiceReport>,
): string[] {
  const reasons: string[] = [];
  steps.forEach((step, i) => {
    const where = `step ${i + 1} (${step.name})`;
    for (const service of SERVICES) {
      const a = step.audit[service];
      if (!a.audited) continue;
      const tolerated = acceptedRpoLoss(service, {
        failedOver: services[service].failedOver,
        lostInAsyncWindow: a.lostInAsyncWindow,
      });
      if (a.lostAckedWrites > tolerated) {
        reasons.push(
          `${where}: ${service} lost ${a.lostAckedWrites} acknowledged write(s)` +
            (tolerated > 0 ? ` (${tolerated} within the async RPO window)` : '') +
            `, e.g. ${a.lostSample.slice(0, 3).join(', ')}`,
        );
      }
      if (a.duplicateWrites > 0)
        reasons.push(`${where}: ${service} applied ${a.duplicateWrites} write(s) more than once`);
    }
    for (const check of step.checks) if (!check.ok) reasons.push(`${where}: ${check.name}: ${check.detail}`);
  });
  return reasons;
}

/** The failed requests of the ops the router may resend (RETRY_SAFE_OPS), from the "op error" counts. */
export function retrySafeFailures(errors: Record<string, number>): {
  count: number;
  errors: Record<string, number>;
} {
  const picked: Record<string, number> = {};
  let count = 0;
  for (const [key, n] of Object.entries(errors)) {
    const op = key.split(' ', 1)[0] as Parameters<typeof RETRY_SAFE_OPS.has>[0];
    if (!RETRY_SAFE_OPS.has(op)) continue;
    picked[key] = n;
    count += n;
  }
  return { count, errors: picked };
}

/** "me HTTP_504 ×2, signin ROUTER_ERR_NO_PRIMARY ×1": what a reader needs to tell a cause from a symptom */
function topErrors(errors: Record<string, number>): string {
  const top = Object.entries(errors)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([what, count]) => `${what} ×${count}`);
  return top.length > 0 ? top.join(', ') : 'no error recorded';
}
