// Controller events: the timeline of every failover, from GET /admin/events on the router. The drill
// reads its RTO phases from them; Prometheus counts them (controller_events_total{type}).
import { type Static, Type } from 'typebox';
import { RegionNameSchema, ServiceNameSchema } from './vocabulary';

export const EVENT_TYPES = [
  'suspected',
  'confirmed_down',
  'promote_started',
  'promoted',
  'routed',
  'fenced',
  'degraded_async',
  'sync_restored',
  'recovered',
  'failover_refused',
] as const;
export const EventTypeSchema = Type.Enum(EVENT_TYPES);
export type EventType = (typeof EVENT_TYPES)[number];

const StepMs = (description: string) => Type.Optional(Type.Number({ minimum: 0, description }));

/**
 * Where a promotion's time went, in ms. The router measures its own steps; the cell answers its own in
 * the promote response (PromoteResponseSchema). Absent: the step did not happen or was not measured.
 */
export const PromotionStepsSchema = Type.Object(
  {
    probeMs: StepMs("the primary's first failed probe → confirmed down"),
    decideMs: StepMs('confirmed down → the decision to promote carried out'),
    leaseMs: StepMs(
      'waiting until the lease of an old primary the router could not reach has run out (it fenced itself)',
    ),
    writesMs: StepMs('waiting for writes sent to the old primary to end or pass their deadline'),
    epochMs: StepMs("writing the new epoch to the router's state file"),
    adminMs: StepMs('the promote call to the cell, round trip'),
    checkMs: StepMs(
      "the cell's reads before it changes anything (stored epoch, fence marker, recovery, migrations)",
    ),
    pgPromoteMs: StepMs('pg_promote until the standby left recovery'),
    redisMs: StepMs('Redis REPLICAOF NO ONE (runs beside pg_promote)'),
    syncOffMs: StepMs('synchronous_standby_names emptied (the old partner is presumed gone)'),
    migrationsMs: StepMs(
      "the cell's own migrations applied (only a cell running newer code than its schema)",
    ),
    writableMs: StepMs(
      "the app role's write grants restored and the epoch written into cell_state, one commit",
    ),
    markerMs: StepMs('the fence marker cleared (only a node that was fenced carries one)'),
    routeMs: StepMs('promoted → the route serves the new primary (one fresh probe)'),
  },
  { additionalProperties: false },
);
export type PromotionSteps = Static<typeof PromotionStepsSchema>;

/**
 * The body of POST /admin/promote on a cell. `lease`: the router grants the new primary a lease with the
 * promotion itself (docs/fencing.md, "The lease"), so it is leased from the moment it becomes primary,
 * not from its first probe. The cell holds it until min(the moment it became primary, `deadline`) + `ms`;
 * the router counts `deadline` + `ms` until the cell answers, then the moment of the answer + `ms`.
 * Absent: no lease (leases off, or an operator's call).
 */
export const PromoteRequestSchema = Type.Object(
  {
    epoch: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    lease: Type.Optional(
      Type.Object(
        {
          ms: Type.Integer({ minimum: 1, maximum: 600_000 }),
          /** unix ms: the router gives up on the promotion then (its admin timeout) */
          deadline: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type PromoteRequest = Static<typeof PromoteRequestSchema>;

/** The answer of POST /admin/promote on a cell. */
export const PromoteResponseSchema = Type.Object({
  role: Type.String(),
  epoch: Type.Integer({ minimum: 0 }),
  /** the whole promotion inside the cell */
  promoteMs: Type.Number({ minimum: 0 }),
  wasStandby: Type.Boolean(),
  /** 'primary' or 'failed: …' (Redis holds nothing money depends on) */
  redis: Type.String(),
  steps: PromotionStepsSchema,
});
export type PromoteResponse = Static<typeof PromoteResponseSchema>;

export const ControllerEventSchema = Type.Object({
  /** ISO 8601 */
  at: Type.String({ format: 'date-time' }),
  type: EventTypeSchema,
  service: ServiceNameSchema,
  region: RegionNameSchema,
  epoch: Type.Integer({ minimum: 0 }),
  detail: Type.Optional(Type.String()),
  /** on `promoted` and on the `routed` that ends a failover: the promotion's steps so far */
  steps: Type.Optional(PromotionStepsSchema),
});
export type ControllerEvent = Static<typeof ControllerEventSchema>;
