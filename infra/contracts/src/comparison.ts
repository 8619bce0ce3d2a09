// comparison.json, the outcome of a drill that runs the same fault on several set-ups ("arms") and
// sets them side by side (`npm run drill -- control-plane`). Each arm carries its own expectation: an
// arm expected to stay down passes by staying down, and says until when it was watched. The
// comparison passes when every arm meets its expectation.
import { type Static, Type } from 'typebox';
import { CheckSchema } from './report';
import { ControlPlanePlacementSchema, ReplicationModeSchema } from './vocabulary';

/** recovers: every service served again within the arm's load; stays-down: nothing recovers by itself. */
export const ARM_OUTCOMES = ['recovers', 'stays-down'] as const;
export const ArmOutcomeSchema = Type.Enum(ARM_OUTCOMES);
export type ArmOutcome = Static<typeof ArmOutcomeSchema>;

const NullableMs = Type.Union([Type.Number({ minimum: 0 }), Type.Null()]);
const Count = Type.Integer({ minimum: 0 });

/** One service in one arm, as the clients saw it and as the audit found it. */
export const ArmServiceSchema = Type.Object({
  requests: Count,
  failed: Count,
  /** requests sent after the fault, and how many of them succeeded */
  afterFault: Count,
  okAfterFault: Count,
  /** fault → every request succeeds again; null = not within the arm's watch */
  rtoMs: NullableMs,
  failedOver: Type.Boolean(),
  ackedWrites: Count,
  /** acknowledged writes not found where the arm looked for them (the new primary, or the surviving standby) */
  lostAckedWrites: Count,
  /** where the audit read the acknowledged writes back */
  auditedOn: Type.String(),
  /** how the service replicated in this arm (absent: the contract's REPLICATION_MODE) */
  replication: Type.Optional(ReplicationModeSchema),
  /**
   * latency of the writes acknowledged before the fault (steady state): what the client pays for its
   * commit (a synchronous one waits for the other region); null when there was none
   */
  ackedWriteLatency: Type.Optional(
    Type.Union([
      Type.Object({ samples: Count, p50Ms: Type.Number({ minimum: 0 }), p99Ms: Type.Number({ minimum: 0 }) }),
      Type.Null(),
    ]),
  ),
});
export type ArmService = Static<typeof ArmServiceSchema>;

export const ComparisonArmSchema = Type.Object({
  /** short name: `control plane in dc-a` */
  name: Type.String(),
  controlPlane: ControlPlanePlacementSchema,
  expected: ArmOutcomeSchema,
  /** why this outcome is the right one for this arm */
  why: Type.String(),
  observed: ArmOutcomeSchema,
  met: Type.Boolean(),
  /** empty when met */
  reasons: Type.Array(Type.String()),
  fault: Type.Object({ kind: Type.String(), target: Type.String(), injectedAt: Type.String() }),
  /** the last moment the arm looked at the platform (its load's end, or the end of its watch) */
  watchedUntil: Type.String({ format: 'date-time' }),
  watchedMs: Type.Number({ minimum: 0 }),
  services: Type.Object({ login: ArmServiceSchema, payments: ArmServiceSchema, messaging: ArmServiceSchema }),
  checks: Type.Array(CheckSchema),
  /** what a person would have to do to bring service back (arms that stay down) */
  operatorSteps: Type.Array(Type.String()),
  /** the arm's own drill report (report.json), relative to the comparison's directory */
  report: Type.Optional(Type.String()),
  /** the machine's 1-minute load average when the arm started and ended */
  loadAverage: Type.Object({ start: Type.Number(), end: Type.Number() }),
  /**
   * the arm did not finish (its lab did not come up, or its drill stopped before the fault): why. Its
   * figures are empty, it does not meet its expectation, and the other arms still run.
   */
  error: Type.Optional(Type.String()),
  /** the arm's lab logs, kept (relative to the comparison's directory) when the arm did not finish */
  labLogs: Type.Optional(Type.String()),
});
export type ComparisonArm = Static<typeof ComparisonArmSchema>;

export const ComparisonReportSchema = Type.Object({
  comparison: Type.String(),
  verdict: Type.Enum(['pass', 'fail']),
  /** every arm that did not meet its expectation, in one sentence each; empty on a pass */
  reasons: Type.Array(Type.String()),
  startedAt: Type.String({ format: 'date-time' }),
  endedAt: Type.String({ format: 'date-time' }),
  arms: Type.Array(ComparisonArmSchema, { minItems: 1 }),
});
export type ComparisonReport = Static<typeof ComparisonReportSchema>;
