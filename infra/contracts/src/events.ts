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

export const ControllerEventSchema = Type.Object({
  /** ISO 8601 */
  at: Type.String({ format: 'date-time' }),
  type: EventTypeSchema,
  service: ServiceNameSchema,
  region: RegionNameSchema,
  epoch: Type.Integer({ minimum: 0 }),
  detail: Type.Optional(Type.String()),
});
export type ControllerEvent = Static<typeof ControllerEventSchema>;
