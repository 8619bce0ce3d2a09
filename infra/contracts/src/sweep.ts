// sweep.json, the outcome of `npm run drill -- sweep`: the router's detection knobs (probe interval ×
// timeout × fall) tried on a stall (a frozen primary region: how fast is it noticed) and on an
// episode with no real fault (latency spikes and CPU stress: how often does it fail over anyway).
import { type Static, Type } from 'typebox';

const Ms = Type.Number({ minimum: 0 });
const NullableMs = Type.Union([Ms, Type.Null()]);

export const SweepKnobsSchema = Type.Object({
  intervalMs: Type.Integer({ minimum: 10 }),
  timeoutMs: Type.Integer({ minimum: 10 }),
  fall: Type.Integer({ minimum: 1 }),
});
export type SweepKnobs = Static<typeof SweepKnobsSchema>;

export const SweepRunSchema = Type.Object({
  /** stall: fault → the router confirmed the frozen primary down (slowest service); null: never */
  detectMs: NullableMs,
  /** stall: fault → payments served again; null: never */
  rtoMs: NullableMs,
  /**
   * services promoted with no fault: in the no-fault episode, and during the stall episode's set-up
   * and warm-up (before its fault), where an eager setting under load already fails over
   */
  falseFailovers: Type.Integer({ minimum: 0 }),
  /** each episode's drill verdict and report directory, relative to the sweep's */
  stall: Type.Object({ verdict: Type.Enum(['pass', 'fail']), report: Type.String() }),
  noFault: Type.Object({ verdict: Type.Enum(['pass', 'fail']), report: Type.String() }),
  loadAverage: Type.Number(),
  /** the run could not finish (a drill's setup or reset failed): its figures are left out of the point's */
  error: Type.Optional(Type.String()),
  /**
   * with `error`: the stall episode did finish (its reset or the no-fault episode did not), so its
   * detection, RTO and false failovers count in the point's figures (the false failovers as a floor)
   */
  partial: Type.Optional(Type.Boolean()),
});
export type SweepRun = Static<typeof SweepRunSchema>;

export const SweepPointSchema = Type.Object({
  knobs: SweepKnobsSchema,
  isDefault: Type.Boolean(),
  runs: Type.Array(SweepRunSchema),
  /** medians over the finished runs that measured them; null when none did */
  detectMedianMs: NullableMs,
  rtoMedianMs: NullableMs,
  /** false failovers per no-fault episode, averaged over the runs */
  falseFailoverRate: Type.Number({ minimum: 0 }),
  /** no other point detects at least as fast with at most as many false failovers, one strictly better */
  onFrontier: Type.Boolean(),
});
export type SweepPoint = Static<typeof SweepPointSchema>;

export const SweepReportSchema = Type.Object({
  startedAt: Type.String({ format: 'date-time' }),
  endedAt: Type.String({ format: 'date-time' }),
  /** what each episode was, in words */
  stall: Type.String(),
  noFault: Type.String(),
  runsPerPoint: Type.Integer({ minimum: 1 }),
  points: Type.Array(SweepPointSchema),
});
export type SweepReport = Static<typeof SweepReportSchema>;
