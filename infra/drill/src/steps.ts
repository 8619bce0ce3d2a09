// A drill that chains faults (freeze → failover → thaw → kill → restore) records each one as a step:
// what it did, the failover phases it caused, checks once it settled, and an audit of every write
// acknowledged up to then. A loss that a later step would hide (a restore that rebuilds a region from
// the wrong node erases writes, and the next failover re-creates the gap elsewhere) is caught at the
// step that caused it.
import {
  type DrillOperation,
  type DrillStep,
  describeTarget,
  type Fault,
  type Phases,
  SERVICES,
  type ServiceName,
  type StepAudit,
} from '@failover-lab/contracts';
import type { AdminApi } from './admin';
import { type AuditFindings, acknowledgedWrites } from './audit';
import { type AuditContext, auditSome } from './audit/readers';
import type { Backend } from './backends/backend';
import { phasesFor } from './phases';
import type { Check, Operation } from './scenarios/scenario';
import { routerServices } from './steady-state';

export interface StepSpec {
  /** "thaw dc-a", "restore dc-b" */
  name: string;
  fault: Fault | Operation;
  /** does the step; default: apply `fault` through the backend */
  act?: () => Promise<void>;
  /** the fault was applied already, at this time (the drill's own inject): only settle and audit */
  appliedAtMs?: number;
  /** until the step has taken effect (routed events, a restore finished); bounded by the scenario */
  settle?: (startedMs: number) => Promise<void>;
  /** checks once settled, before the audit */
  checks?: (startedMs: number) => Promise<Check[]>;
}

export interface StepRecorder {
  run(spec: StepSpec): Promise<DrillStep>;
  readonly steps: readonly DrillStep[];
}

export interface StepRecorderDeps {
  backend: Backend;
  admin: AdminApi;
  /** the audit context of the whole drill; each step reads back the records acknowledged before it */
  audit: Omit<AuditContext, 'faultMs'>;
  /** the drill's first fault: the async window of every step's audit counts from it */
  firstFaultMs: () => number;
  log: (line: string) => void;
}

export function createStepRecorder(deps: StepRecorderDeps): StepRecorder {
  const steps: DrillStep[] = [];
  return {
    steps,
    async run(spec) {
      const startedMs = spec.appliedAtMs ?? Date.now();
      if (spec.appliedAtMs === undefined) {
        deps.log(`step ${steps.length + 1}: ${spec.name}`);
        await (spec.act ?? (() => deps.backend.faults.apply(spec.fault as Fault)))();
      }
      await spec.settle?.(startedMs);
      const checks = (await spec.checks?.(startedMs)) ?? [];
      const settledMs = Date.now();
      const events = await deps.admin.events(new Date(startedMs - 1)).catch(() => []);
      const phases: Record<string, Phases> = {};
      for (const service of SERVICES) {
        const p = phasesFor(events, service, startedMs);
        if (p) phases[service] = p;
      }
      const audit = await auditStep(deps, settledMs);
      const step: DrillStep = {
        name: spec.name,
        fault: {
          kind: spec.fault.kind as Fault['kind'] | DrillOperation,
          target: describeTarget(spec.fault.target),
          injectedAt: new Date(startedMs).toISOString(),
        },
        settledAt: new Date(settledMs).toISOString(),
        phases,
        checks,
        audit,
      };
      steps.push(step);
      deps.log(
        `step ${steps.length} (${spec.name}) settled after ${settledMs - startedMs} ms: ${summary(step)}`,
      );
      return step;
    },
  };
}

/**
 * Every write acknowledged before `untilMs`, read back from the router's primary now. A service with
 * no primary serving (its only primary's database killed, waiting for a restore) is not read: its
 * writes are read at the next step that has one.
 */
async function auditStep(deps: StepRecorderDeps, untilMs: number): Promise<Record<ServiceName, StepAudit>> {
  const router = await routerServices(deps.admin).catch(() => null);
  const serving = SERVICES.filter((s) => router?.[s]?.serving === true);
  const records = deps.audit.records.filter((r) => r.endMs <= untilMs);
  const findings = await auditSome({ ...deps.audit, records, faultMs: deps.firstFaultMs() }, serving);
  return Object.fromEntries(
    SERVICES.map((service) => {
      const f = findings[service];
      return [service, f ? stepAudit(f) : notRead(acknowledgedWrites(records, service).size)];
    }),
  ) as Record<ServiceName, StepAudit>;
}

function notRead(ackedWrites: number): StepAudit {
  return {
    audited: false,
    ackedWrites,
    lostAckedWrites: 0,
    lostInAsyncWindow: 0,
    duplicateWrites: 0,
    lostSample: [],
    notes: ['no primary serving at this step: read back at a later one'],
  };
}

function stepAudit(f: AuditFindings): StepAudit {
  return {
    audited: true,
    ackedWrites: f.ackedWrites,
    lostAckedWrites: f.lostAckedWrites,
    lostInAsyncWindow: f.lostInAsyncWindow,
    duplicateWrites: f.duplicateWrites,
    lostSample: f.lostSample,
    // Balances are compared with the transfers acknowledged before the step; those still in flight
    // when it was read make them differ without anything being wrong, so that note is the final audit's.
    notes: f.notes.filter((n) => !n.includes('differ from seed')),
  };
}

function summary(step: DrillStep): string {
  const audit = SERVICES.map((s) => {
    const a = step.audit[s];
    return a.audited ? `${s} ${a.lostAckedWrites}/${a.ackedWrites} lost` : `${s} not read`;
  }).join(', ');
  const failed = step.checks.filter((c) => !c.ok).length;
  return `${audit}; ${step.checks.length - failed}/${step.checks.length} checks ok`;
}
