// A comparison's arms as the contract's ComparisonArm, and the comparison's verdict. Pure: the
// control-plane drill and its tests both call these.
import {
  type ArmOutcome,
  type ArmService,
  type Check,
  type ComparisonArm,
  type ComparisonReport,
  type ControlPlanePlacement,
  type DrillReport,
  SERVICES,
  type ServiceName,
} from '@failover-lab/contracts';
import { isAcknowledgedWrite, type RequestRecord } from '../records';
import { measureRecovery } from '../rto';
import { percentile } from '../timeline';

/** Requests of one service sent after `fromMs`, and how many of them succeeded. */
export function afterFault(records: RequestRecord[], service: ServiceName, fromMs: number) {
  const after = records.filter((r) => r.service === service && r.startMs >= fromMs);
  return { afterFault: after.length, okAfterFault: after.filter((r) => r.ok).length };
}

/** p50/p99 of the writes of `service` acknowledged before `beforeMs` (the steady state's commit cost). */
export function ackedWriteLatency(records: RequestRecord[], service: ServiceName, beforeMs: number) {
  const ms = records
    .filter((r) => r.service === service && r.endMs < beforeMs && isAcknowledgedWrite(r))
    .map((r) => r.endMs - r.startMs);
  if (ms.length === 0) return null;
  const round = (v: number) => Math.round(v * 10) / 10;
  return { samples: ms.length, p50Ms: round(percentile(ms, 0.5)), p99Ms: round(percentile(ms, 0.99)) };
}

/** An arm whose whole story is a drill report (the edge placement: the ordinary region-kill drill). */
export function armFromDrillReport(input: {
  name: string;
  controlPlane: ControlPlanePlacement;
  expected: ArmOutcome;
  why: string;
  report: DrillReport;
  records: RequestRecord[];
  reportPath: string;
  loadAverage: { start: number; end: number };
}): ComparisonArm {
  const { report } = input;
  const faultMs = Date.parse(report.fault.injectedAt);
  const services = Object.fromEntries(
    SERVICES.map((service): [ServiceName, ArmService] => {
      const s = report.services[service];
      return [
        service,
        {
          requests: s.requests,
          failed: s.failed,
          ...afterFault(input.records, service, faultMs),
          rtoMs: s.rtoMs,
          failedOver: s.failedOver,
          ackedWrites: s.ackedWrites,
          lostAckedWrites: s.lostAckedWrites,
          auditedOn: 'the new primary, through the router',
          ...(s.replication ? { replication: s.replication } : {}),
          ackedWriteLatency: ackedWriteLatency(input.records, service, faultMs),
        },
      ];
    }),
  ) as Record<ServiceName, ArmService>;
  const observed: ArmOutcome = SERVICES.every((s) => services[s].rtoMs !== null) ? 'recovers' : 'stays-down';
  const reasons = [
    ...(observed === input.expected
      ? []
      : [`expected it to ${infinitive(input.expected)}, it ${pastTense(observed)}`]),
    ...report.reasons,
  ];
  return {
    name: input.name,
    controlPlane: input.controlPlane,
    expected: input.expected,
    why: input.why,
    observed,
    met: reasons.length === 0,
    reasons,
    fault: { kind: report.fault.kind, target: report.fault.target, injectedAt: report.fault.injectedAt },
    watchedUntil: report.load.endedAt,
    watchedMs: Math.max(0, Date.parse(report.load.endedAt) - faultMs),
    services,
    checks: report.checks,
    operatorSteps: [],
    report: input.reportPath,
    loadAverage: input.loadAverage,
  };
}

/** What the stays-down arm measured itself (its control plane is gone: no router report to read). */
export interface StaysDownMeasurement {
  name: string;
  controlPlane: ControlPlanePlacement;
  why: string;
  fault: { kind: string; target: string };
  /** when the fault was injected, and when it had taken hold (every process of the region dead) */
  faultMs: number;
  injectedMs: number;
  /** the end of the watch */
  watchedUntilMs: number;
  records: RequestRecord[];
  /** per service: acknowledged writes, those not found, and where they were looked for */
  audit: Record<ServiceName, { ackedWrites: number; lostAckedWrites: number; auditedOn: string }>;
  /** per service: whether any cell outside the failed region became primary during the watch */
  promoted: Record<ServiceName, boolean>;
  checks: Check[];
  operatorSteps: string[];
  loadAverage: { start: number; end: number };
}

/**
 * An arm expected to stay down: it passes when no request sent after the fault took hold succeeded,
 * nothing was promoted, and its checks hold — the audit's among them: the writes acknowledged before
 * the fault are still where it looked (the data survived; only the means to use it did not).
 */
export function staysDownArm(m: StaysDownMeasurement): ComparisonArm {
  const services = Object.fromEntries(
    SERVICES.map((service): [ServiceName, ArmService] => {
      const records = m.records.filter((r) => r.service === service);
      const recovery = measureRecovery(records, m.injectedMs, m.watchedUntilMs);
      return [
        service,
        {
          requests: recovery.requests,
          failed: recovery.failed,
          ...afterFault(m.records, service, m.injectedMs),
          rtoMs: recovery.rtoMs,
          failedOver: m.promoted[service],
          ...m.audit[service],
          ackedWriteLatency: ackedWriteLatency(m.records, service, m.faultMs),
        },
      ];
    }),
  ) as Record<ServiceName, ArmService>;
  const served = SERVICES.filter((s) => services[s].okAfterFault > 0);
  const observed: ArmOutcome = served.length > 0 ? 'recovers' : 'stays-down';
  const reasons: string[] = [];
  if (observed !== 'stays-down')
    reasons.push(
      `expected it to stay down, but ${served.map((s) => `${s} answered ${services[s].okAfterFault} request(s)`).join(', ')} after the fault`,
    );
  for (const s of SERVICES)
    if (m.promoted[s]) reasons.push(`${s} was promoted although no control plane was left to do it`);
  for (const c of m.checks) if (!c.ok) reasons.push(`${c.name}: ${c.detail}`);
  return {
    name: m.name,
    controlPlane: m.controlPlane,
    expected: 'stays-down',
    why: m.why,
    observed,
    met: reasons.length === 0,
    reasons,
    fault: { ...m.fault, injectedAt: new Date(m.faultMs).toISOString() },
    watchedUntil: new Date(m.watchedUntilMs).toISOString(),
    watchedMs: Math.max(0, m.watchedUntilMs - m.faultMs),
    services,
    checks: m.checks,
    operatorSteps: m.operatorSteps,
    loadAverage: m.loadAverage,
  };
}

/** What an arm is before it runs: enough to report it when it cannot finish. */
export interface ArmPlan {
  name: string;
  /** its folder under the comparison's directory */
  dir: string;
  controlPlane: ControlPlanePlacement;
  expected: ArmOutcome;
  why: string;
}

/** An arm that did not finish: no figures, not met, the error as its reason. */
export function unfinishedArm(
  plan: ArmPlan,
  input: { error: string; atMs: number; loadAverage: { start: number; end: number }; labLogs?: string },
): ComparisonArm {
  const empty: ArmService = {
    requests: 0,
    failed: 0,
    afterFault: 0,
    okAfterFault: 0,
    rtoMs: null,
    failedOver: false,
    ackedWrites: 0,
    lostAckedWrites: 0,
    auditedOn: 'nowhere: the arm did not finish',
    ackedWriteLatency: null,
  };
  const at = new Date(input.atMs).toISOString();
  return {
    name: plan.name,
    controlPlane: plan.controlPlane,
    expected: plan.expected,
    why: plan.why,
    // nothing was measured, so nothing recovered
    observed: 'stays-down',
    met: false,
    reasons: [`did not finish: ${input.error}`],
    fault: { kind: 'none', target: '', injectedAt: at },
    watchedUntil: at,
    watchedMs: 0,
    services: { login: empty, payments: empty, messaging: empty },
    checks: [],
    operatorSteps: [],
    loadAverage: input.loadAverage,
    error: input.error,
    ...(input.labLogs ? { labLogs: input.labLogs } : {}),
  };
}

/** The comparison passes when every arm meets its own expectation. */
export function judgeComparison(
  comparison: string,
  arms: ComparisonArm[],
  window: { startedAtMs: number; endedAtMs: number },
): ComparisonReport {
  const reasons = arms
    .filter((a) => !a.met)
    .map((a) => `${a.name}: ${a.reasons.join('; ') || 'did not meet its expectation'}`);
  return {
    comparison,
    verdict: reasons.length === 0 ? 'pass' : 'fail',
    reasons,
    startedAt: new Date(window.startedAtMs).toISOString(),
    endedAt: new Date(window.endedAtMs).toISOString(),
    arms,
  };
}

const pastTense = (outcome: ArmOutcome) => (outcome === 'recovers' ? 'recovered' : 'stayed down');
const infinitive = (outcome: ArmOutcome) => (outcome === 'recovers' ? 'recover' : 'stay down');
