// report.json, the drill's machine-readable outcome: a superset of test/contracts/report.schema.json
// (the minimum every drill writes; a test checks real reports against both).
import { type Static, Type } from 'typebox';
import { ControllerEventSchema, PromotionStepsSchema } from './events';
import { FaultAttributesSchema, FaultDirectionSchema, FaultKindSchema } from './faults';
import { ReplicationModeSchema } from './vocabulary';

const NullableMs = Type.Union([Type.Number(), Type.Null()]);
const Count = Type.Integer({ minimum: 0 });
const PerRegion = Type.Object({ 'dc-a': Type.Optional(Count), 'dc-b': Type.Optional(Count) });

export const ServiceReportSchema = Type.Object({
  requests: Count,
  failed: Count,
  /** fault → start of the first interval after which every request succeeds; null = never; 0 = untouched */
  rtoMs: NullableMs,
  maxStallMs: Type.Number({ minimum: 0 }),
  ackedWrites: Count,
  lostAckedWrites: Count,
  duplicateWrites: Count,
  invariants: Type.Record(Type.String(), Type.Boolean()),
  failedOver: Type.Boolean(),
  /** answers per region that served them */
  servedBy: PerRegion,
  p99Ms: NullableMs,
  /** failed requests by "op error" (e.g. "transfer ECONNREFUSED", "me LOGIN_ERR_TOKEN_REVOKED") */
  errors: Type.Record(Type.String(), Count),
  /** lost writes acknowledged within the accepted async window before the fault */
  lostInAsyncWindow: Count,
  /** acknowledged writes lost as the accepted RPO of async replication (the drill's acceptedRpoLoss) */
  rpoLostWrites: Count,
  lostSample: Type.Array(Type.String()),
  /** per lostSample entry: ms between its acknowledgement and the fault (negative: acked after it) */
  lostAckedBeforeFaultMs: Type.Array(Type.Number()),
  notes: Type.Array(Type.String()),
  /** how the service replicated during the drill, as the router said at its start (absent: REPLICATION_MODE) */
  replication: Type.Optional(ReplicationModeSchema),
});
export type ServiceReport = Static<typeof ServiceReportSchema>;

/** The RTO broken into the controller's steps; null where a step did not happen. */
export const PhasesSchema = Type.Object({
  /** fault → confirmed_down */
  detectMs: NullableMs,
  /** confirmed_down → promote_started */
  decideMs: NullableMs,
  /** promote_started → promoted */
  promoteMs: NullableMs,
  /** promoted → routed */
  routeMs: NullableMs,
  /** the promotion's own steps, as the router's `routed` (or `promoted`) event carried them */
  steps: Type.Optional(PromotionStepsSchema),
});
export type Phases = Static<typeof PhasesSchema>;

/**
 * What a drill may do to the platform that is not a fault of the registry: a planned operation it asks
 * the router for (POST /admin/switchover). It goes in the report where a fault does.
 */
export const DRILL_OPERATIONS = ['switchover'] as const;
export const DrillOperationSchema = Type.Enum(DRILL_OPERATIONS);
export type DrillOperation = (typeof DRILL_OPERATIONS)[number];

/** A fault as the report records it: what, where (as text), when. */
export const ReportFaultSchema = Type.Object({
  kind: Type.Union([FaultKindSchema, DrillOperationSchema]),
  /** dc-a, dc-a/payments, dc-a/payments/postgres */
  target: Type.String(),
  injectedAt: Type.String({ format: 'date-time' }),
  direction: Type.Optional(FaultDirectionSchema),
  attributes: Type.Optional(FaultAttributesSchema),
});
export type ReportFault = Static<typeof ReportFaultSchema>;

/** A link fault applied or healed during the drill (a flapping link is many), for the timeline. */
export const LinkFaultChangeSchema = Type.Object({
  at: Type.String({ format: 'date-time' }),
  kind: FaultKindSchema,
  /** edge→dc-a, dc-a→dc-b/payments */
  target: Type.String(),
  direction: Type.Optional(FaultDirectionSchema),
  attributes: Type.Optional(FaultAttributesSchema),
});
export type LinkFaultChange = Static<typeof LinkFaultChangeSchema>;

export const BucketSchema = Type.Object({
  /** bucket start, ms since the load started */
  atMs: Type.Number({ minimum: 0 }),
  requests: Count,
  ok: Count,
  /** null when the bucket had no request */
  successRate: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]),
  p99Ms: NullableMs,
});
export type Bucket = Static<typeof BucketSchema>;

export const LoadSummarySchema = Type.Object({
  source: Type.Enum(['builtin', 'k6']),
  backend: Type.Enum(['local', 'compose']),
  startedAt: Type.String({ format: 'date-time' }),
  endedAt: Type.String({ format: 'date-time' }),
  warmupMs: Type.Number({ minimum: 0 }),
  durationMs: Type.Number({ minimum: 0 }),
  ratePerSec: Type.Number({ minimum: 0 }),
  seed: Type.Integer(),
  /** iterations the open model scheduled, sent, and dropped because too many were in flight */
  scheduled: Count,
  sent: Count,
  dropped: Count,
  maxInFlight: Count,
});
export type LoadSummary = Static<typeof LoadSummarySchema>;

export const PrometheusCrossCheckSchema = Type.Object({
  available: Type.Boolean(),
  note: Type.Optional(Type.String()),
  /** RTO per service from router_requests_total by outcome (resolution = the query step) */
  rtoMs: Type.Optional(
    Type.Object({
      login: Type.Optional(NullableMs),
      payments: Type.Optional(NullableMs),
      messaging: Type.Optional(NullableMs),
    }),
  ),
  stepMs: Type.Optional(Type.Number()),
});
export type PrometheusCrossCheck = Static<typeof PrometheusCrossCheckSchema>;

const perService = <T extends Parameters<typeof Type.Object>[0][string]>(value: T) =>
  Type.Object({ login: value, payments: value, messaging: value });

export const CheckSchema = Type.Object({ name: Type.String(), ok: Type.Boolean(), detail: Type.String() });
export type Check = Static<typeof CheckSchema>;

/**
 * A row a restore exported from a forked old primary before rebuilding it (docs/fencing.md,
 * "Quarantine of forked writes"), during the drill. An acknowledged write found only here is lost.
 */
export const QuarantinedWriteSchema = Type.Object({
  service: Type.String(),
  table: Type.String(),
  /** the write's identity (a transfer's idempotency key, a message id, …) */
  key: Type.String(),
  file: Type.String(),
  /** the drill's client was told this write succeeded */
  acknowledged: Type.Boolean(),
});
export type QuarantinedWrite = Static<typeof QuarantinedWriteSchema>;

/** One step's read-back of every write acknowledged so far, from the router's primary at that moment. */
export const StepAuditSchema = Type.Object({
  /** false: the service had no primary serving when the step was audited (nothing read back) */
  audited: Type.Boolean(),
  ackedWrites: Count,
  lostAckedWrites: Count,
  /** of those, acknowledged within the accepted async window before the drill's first fault */
  lostInAsyncWindow: Count,
  duplicateWrites: Count,
  lostSample: Type.Array(Type.String()),
  notes: Type.Array(Type.String()),
});
export type StepAudit = Static<typeof StepAuditSchema>;

/**
 * One fault of a drill that chains several (freeze → failover → thaw → kill → restore), in order: what
 * it did, the failover phases it caused (from its own start), the checks made once it had settled,
 * and an audit of every write acknowledged up to then.
 */
export const DrillStepSchema = Type.Object({
  /** "thaw dc-a", "restore dc-b" */
  name: Type.String(),
  fault: ReportFaultSchema,
  /** when the step had settled and its audit began */
  settledAt: Type.String({ format: 'date-time' }),
  /** per service that started a promotion during this step */
  phases: Type.Record(Type.String(), PhasesSchema),
  checks: Type.Array(CheckSchema),
  audit: perService(StepAuditSchema),
});
export type DrillStep = Static<typeof DrillStepSchema>;

export const DrillReportSchema = Type.Object({
  scenario: Type.String(),
  verdict: Type.Enum(['pass', 'fail']),
  /** why the verdict; empty on a pass */
  reasons: Type.Array(Type.String()),
  /** the expected verdict and why */
  expected: Type.String(),
  /** the (first) fault; a drill that chains several lists every one, this one first, in `steps` */
  fault: ReportFaultSchema,
  /** absent for a single fault; otherwise every fault in the order applied, each audited after it */
  steps: Type.Optional(Type.Array(DrillStepSchema)),
  /** rows restores quarantined from forked old primaries while the drill ran (absent: none, or not known) */
  quarantined: Type.Optional(Type.Array(QuarantinedWriteSchema)),
  services: perService(ServiceReportSchema),
  /** per service that failed over */
  phases: Type.Record(Type.String(), PhasesSchema),
  events: Type.Array(ControllerEventSchema),
  /** every link fault applied or healed while the load ran, in order (absent: none) */
  linkFaults: Type.Optional(Type.Array(LinkFaultChangeSchema)),
  checks: Type.Array(CheckSchema),
  load: LoadSummarySchema,
  timeline: Type.Object({
    bucketMs: Type.Integer({ minimum: 1 }),
    services: perService(Type.Array(BucketSchema)),
  }),
  prometheus: PrometheusCrossCheckSchema,
});
export type DrillReport = Static<typeof DrillReportSchema>;
