// What a cell says about itself on GET /health/ready and GET /admin/state (docs/contracts.md, "Cell
// HTTP surface"). The cell kit answers with it; the router's prober and the drill read it.
import { type Static, Type } from 'typebox';
import { CellRoleSchema } from './vocabulary';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

export const CheckResultSchema = Type.Object({
  ok: Type.Boolean(),
  ms: Type.Number({ minimum: 0 }),
  error: Type.Optional(Type.String()),
});
export type CheckResult = Static<typeof CheckResultSchema>;

/** A standby as its primary sees it (pg_stat_replication). */
export const StandbyViewSchema = Type.Object({
  /** application_name: the standby's region */
  name: Type.String(),
  /** streaming, catchup, … */
  state: Type.String(),
  /** sync, async, potential, quorum */
  syncState: Type.String(),
  /** WAL sent but not yet replayed there */
  lagBytes: Nullable(Type.Number()),
  /** ms since the standby last replied (pg_stat_replication.reply_time); stale: its receiver stalled */
  replyAgeMs: Type.Optional(Nullable(Type.Number({ minimum: 0 }))),
  /**
   * the WAL position the standby last confirmed flushed (pg_stat_replication.flush_lsn): it moves only
   * when WAL crossed the link and the standby's reply came back
   */
  flushLsn: Type.Optional(Nullable(Type.String())),
});
export type StandbyView = Static<typeof StandbyViewSchema>;

export const CellReadinessSchema = Type.Object({
  status: Type.Enum(['ready', 'not_ready']),
  service: Type.String(),
  region: Type.String(),
  role: CellRoleSchema,
  /** the fencing token this cell holds (stored in its Postgres, replicated to its standby) */
  epoch: Type.Integer({ minimum: 0 }),
  fenced: Type.Boolean(),
  /** null: its Postgres has not answered since the app started */
  inRecovery: Nullable(Type.Boolean()),
  /** primary: current WAL position; standby: last replayed */
  walLsn: Nullable(Type.String()),
  /** standby: received − replayed; primary: null */
  replicationLagBytes: Nullable(Type.Number()),
  /** primary: its standbys; empty on a standby */
  standbys: Type.Array(StandbyViewSchema),
  synchronousStandbyNames: Nullable(Type.String()),
  /**
   * primary: how long its oldest commit has been waiting for the synchronous standby (ms; null when
   * none waits). Rising: the standby's WAL receiver is gone or stalled, and every sync commit hangs.
   */
  syncWaitMs: Type.Optional(Nullable(Type.Number({ minimum: 0 }))),
  checks: Type.Object({ postgres: CheckResultSchema, redis: CheckResultSchema }),
  /** a primary: when its router lease runs out (absent: none granted, or not a primary) */
  leaseUntil: Type.Optional(Type.String({ format: 'date-time' })),
  /** when this cell last fenced itself because its lease ran out (absent: never since it started) */
  selfFencedAt: Type.Optional(Type.String({ format: 'date-time' })),
});
export type CellReadiness = Static<typeof CellReadinessSchema>;
