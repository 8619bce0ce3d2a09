// Assembles report.json from the measurements. Pure: the drill runner and the tests both call it.
import {
  type ControllerEvent,
  type DrillOperation,
  type DrillReport,
  type DrillStep,
  type FaultAttributes,
  type FaultDirection,
  type FaultKind,
  type LinkFaultChange,
  type LoadSummary,
  type Phases,
  type PrometheusCrossCheck,
  type QuarantinedWrite,
  type RegionName,
  type ReplicationMode,
  SERVICES,
  type ServiceName,
  type ServiceReport,
} from '@failover-lab/contracts';
import type { AuditFindings } from '../audit';
import { phasesFor } from '../phases';
import type { RequestRecord } from '../records';
import { measureRecovery } from '../rto';
import { BUCKET_MS, percentile, timeline } from '../timeline';
import { acceptedRpoLoss, type Expectation, judge, stepReasons } from '../verdict';

export interface ReportInput {
  scenario: string;
  expected: string;
  expectation: Expectation;
  fault: {
    kind: FaultKind | DrillOperation;
    target: string;
    injectedAtMs: number;
    direction?: FaultDirection;
    attributes?: FaultAttributes;
  };
  /** link faults applied or healed during the drill, in order */
  linkFaults?: LinkFaultChange[];
  /** a drill that chains faults: each one, audited (absent or empty: a single fault) */
  steps?: readonly DrillStep[];
  /** rows restores quarantined during the drill (absent: the backend keeps none) */
  quarantined?: QuarantinedWrite[];
  records: RequestRecord[];
  events: ControllerEvent[];
  audit: Record<ServiceName, AuditFindings>;
  checks: { name: string; ok: boolean; detail: string }[];
  load: Omit<LoadSummary, 'startedAt' | 'endedAt'> & { startedAtMs: number; endedAtMs: number };
  prometheus: PrometheusCrossCheck;
  /** how each service replicated, as the router said (absent: the contract's REPLICATION_MODE) */
  modes?: Partial<Record<ServiceName, ReplicationMode>>;
}

export function buildReport(input: ReportInput): DrillReport {
  const faultMs = input.fault.injectedAtMs;
  const services = {} as Record<ServiceName, ServiceReport>;
  const phases: Record<string, Phases> = {};
  const timelines = {} as Record<ServiceName, ReturnType<typeof timeline>>;
  for (const service of SERVICES) {
    const records = input.records.filter((r) => r.service === service);
    const recovery = measureRecovery(records, faultMs, input.load.endedAtMs);
    const servicePhases = phasesFor(input.events, service, faultMs);
    if (servicePhases) phases[service] = servicePhases;
    const servedBy: Partial<Record<RegionName, number>> = {};
    for (const r of records) if (r.servedBy) servedBy[r.servedBy] = (servedBy[r.servedBy] ?? 0) + 1;
    const errors: Record<string, number> = {};
    for (const r of records) {
      if (r.ok) continue;
      const key = `${r.op} ${r.error ?? `HTTP_${r.status}`}`;
      errors[key] = (errors[key] ?? 0) + 1;
    }
    const audit = input.audit[service];
    const failedOver = promotedAfter(input.events, service, faultMs);
    const replication = input.modes?.[service];
    services[service] = {
      requests: recovery.requests,
      failed: recovery.failed,
      rtoMs: recovery.rtoMs,
      maxStallMs: recovery.maxStallMs,
      ackedWrites: audit.ackedWrites,
      lostAckedWrites: audit.lostAckedWrites,
      duplicateWrites: audit.duplicateWrites,
      invariants: audit.invariants,
      failedOver,
      servedBy,
      errors,
      p99Ms:
        records.length === 0
          ? null
          : percentile(
              records.map((r) => r.endMs - r.startMs),
              0.99,
            ),
      lostInAsyncWindow: audit.lostInAsyncWindow,
      rpoLostWrites: Math.min(
        audit.lostAckedWrites,
        acceptedRpoLoss(
          service,
          { failedOver, ...audit, ...(replication ? { replication } : {}) },
          input.expectation.movesWithoutPromotion?.includes(service) ?? false,
        ),
      ),
      lostSample: audit.lostSample,
      lostAckedBeforeFaultMs: audit.lostAckedBeforeFaultMs,
      notes: audit.notes,
      ...(replication ? { replication } : {}),
    };
    // Up to the end of the scheduled load: after it only stragglers finish, no new arrivals.
    const scheduledEndMs = input.load.startedAtMs + input.load.warmupMs + input.load.durationMs;
    timelines[service] = timeline(
      records,
      input.load.startedAtMs,
      Math.min(scheduledEndMs, input.load.endedAtMs),
      BUCKET_MS,
    );
  }
  const judged = judge(input.expectation, services, input.checks);
  const steps = input.steps ?? [];
  const reasons = [
    ...stepReasons(steps, services),
    ...onlyInQuarantine(input.audit, input.quarantined ?? []),
    ...judged.reasons,
  ];
  const verdict = reasons.length === 0 ? judged.verdict : 'fail';
  const { startedAtMs, endedAtMs, ...load } = input.load;
  return {
    scenario: input.scenario,
    verdict,
    reasons,
    expected: input.expected,
    fault: {
      kind: input.fault.kind,
      target: input.fault.target,
      injectedAt: new Date(faultMs).toISOString(),
      ...(input.fault.direction ? { direction: input.fault.direction } : {}),
      ...(input.fault.attributes ? { attributes: input.fault.attributes } : {}),
    },
    ...(steps.length > 0 ? { steps: [...steps] } : {}),
    ...(input.quarantined ? { quarantined: input.quarantined } : {}),
    ...(input.linkFaults && input.linkFaults.length > 0 ? { linkFaults: input.linkFaults } : {}),
    services,
    phases,
    events: input.events,
    checks: input.checks,
    load: {
      ...load,
      startedAt: new Date(startedAtMs).toISOString(),
      endedAt: new Date(endedAtMs).toISOString(),
    },
    timeline: { bucketMs: BUCKET_MS, services: timelines },
    prometheus: input.prometheus,
  };
}

/**
 * A promotion after the fault that moved the service. A claim (the router re-promoting its own primary
 * at the same epoch, e.g. after that cell fenced itself when its lease ran out on a starved machine)
 * moves nothing and is no failover.
 */
function promotedAfter(events: ControllerEvent[], service: ServiceName, faultMs: number): boolean {
  return events.some(
    (e) =>
      e.service === service &&
      e.type === 'promoted' &&
      !e.detail?.startsWith('claim') &&
      Date.parse(e.at) >= faultMs,
  );
}

/**
 * An acknowledged write missing from the primary but in a quarantine file: the fork kept it, the
 * platform lost it. Named as such (it is also counted lost, which fails the drill already).
 */
function onlyInQuarantine(
  audit: Record<ServiceName, AuditFindings>,
  quarantined: QuarantinedWrite[],
): string[] {
  return SERVICES.flatMap((service) => {
    const lost = new Set(audit[service].lostIds ?? []);
    const hits = quarantined.filter((q) => q.service === service && lost.has(q.key));
    if (hits.length === 0) return [];
    const files = [...new Set(hits.map((h) => h.file))].join(', ');
    return [
      `${service}: ${hits.length} acknowledged write(s) exist only in quarantine (${files}), e.g. ${hits
        .slice(0, 3)
        .map((h) => h.key)
        .join(', ')}`,
    ];
  });
}
