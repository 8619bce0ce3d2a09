// The router's persisted state (the file its config's `stateFile` names): per service, which region
// is the primary at which epoch. The router writes it before every promotion
// (infra/router/src/state/state-store.ts); the lab reads it at a warm `up`, before any router runs,
// to tell which of two primary data dirs is the stale one (docs/fencing.md).
import { type Static, Type } from 'typebox';
import { RegionNameSchema } from './vocabulary';

export const RouterServiceStateSchema = Type.Object({
  primary: RegionNameSchema,
  epoch: Type.Integer({ minimum: 1 }),
  updatedAt: Type.String(),
});
export type RouterServiceState = Static<typeof RouterServiceStateSchema>;

export const RouterStateSchema = Type.Object({
  version: Type.Literal(1),
  services: Type.Object(
    {
      login: Type.Optional(RouterServiceStateSchema),
      payments: Type.Optional(RouterServiceStateSchema),
      messaging: Type.Optional(RouterServiceStateSchema),
    },
    { additionalProperties: false },
  ),
});
export type RouterStateFile = Static<typeof RouterStateSchema>;
