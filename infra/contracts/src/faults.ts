// A fault is data (Toxiproxy's toxics, Chaos Mesh's NetworkChaos): {kind, target, direction?,
// attributes?}. This file is the one registry of fault names; the lab supervisor, the lab CLI, the
// drill and its compose backend all speak these names, and each backend implements every one of them
// (a Record<FaultKind, …> there makes a missing one a type error).
//
// Names are snake_case and say what happens. Attribute names carry their unit (latency_ms, jitter_ms,
// rate_kbps, loss_pct), so a number never needs a comment to be read.
import { type Static, Type } from 'typebox';
import { problemsOf } from './problems';
import { ComponentNameSchema, RegionNameSchema, ServiceNameSchema } from './vocabulary';

export const FAULT_KINDS = [
  'region_kill',
  'component_kill',
  'region_freeze',
  'region_thaw',
  'region_restore',
] as const;
export const FaultKindSchema = Type.Enum(FAULT_KINDS);
export type FaultKind = (typeof FAULT_KINDS)[number];

/** What a fault reaches: a region, one service's cell in it, or one component of that cell. */
export const FaultTargetSchema = Type.Object(
  {
    region: RegionNameSchema,
    service: Type.Optional(ServiceNameSchema),
    component: Type.Optional(ComponentNameSchema),
  },
  { additionalProperties: false },
);
export type FaultTarget = Static<typeof FaultTargetSchema>;

/** Which way a fault on a link acts (Chaos Mesh's direction): towards the target, from it, or both. */
export const FaultDirectionSchema = Type.Enum(['to', 'from', 'both']);
export type FaultDirection = Static<typeof FaultDirectionSchema>;

/** Numbers only, each name ending in its unit. */
export const FaultAttributesSchema = Type.Record(
  Type.String({ pattern: '^[a-z][a-z0-9]*(_[a-z0-9]+)*_(ms|kbps|pct|bytes|count)$' }),
  Type.Number({ minimum: 0 }),
  { additionalProperties: false },
);
export type FaultAttributes = Static<typeof FaultAttributesSchema>;

export const FaultSchema = Type.Object(
  {
    kind: FaultKindSchema,
    target: FaultTargetSchema,
    direction: Type.Optional(FaultDirectionSchema),
    attributes: Type.Optional(FaultAttributesSchema),
  },
  { additionalProperties: false },
);
export type Fault = Static<typeof FaultSchema>;

/** What applying or resetting a fault did. */
export const FaultResultSchema = Type.Object({
  fault: FaultSchema,
  /** the processes or containers it reached (`payments-dc-a-postgres`, …) */
  affected: Type.Array(Type.String()),
  ms: Type.Number({ minimum: 0 }),
  /** region_restore: what each service's cell in the region became */
  roles: Type.Optional(Type.Record(Type.String(), Type.String())),
});
export type FaultResult = Static<typeof FaultResultSchema>;

export interface FaultSpec {
  /** one line: what happens, in the lab and in compose */
  summary: string;
  /** region: the whole region only; cell: a service's cell or a component (at least one of the two) */
  scope: 'region' | 'cell';
  /** the fault whose `reset` this is, for the repairs (thaw and restore are how faults are undone) */
  repairs?: readonly FaultKind[];
}

export const FAULTS: Readonly<Record<FaultKind, FaultSpec>> = {
  region_kill: {
    summary: 'SIGKILL every process of the region (docker kill): the fire; reset: region_restore',
    scope: 'region',
  },
  component_kill: {
    summary:
      "SIGKILL one service's cell, or one component (postgres, redis, app) of it or of every cell of the " +
      'region; an app alone is a crash its supervisor restarts in place; reset: region_restore',
    scope: 'cell',
  },
  region_freeze: {
    summary:
      'SIGSTOP every process of the region (docker pause): a hang that keeps connections open, like a ' +
      'partition; reset: region_thaw',
    scope: 'region',
  },
  region_thaw: {
    summary: 'SIGCONT a frozen region (docker unpause); an app that crashed while frozen restarts now',
    scope: 'region',
    repairs: ['region_freeze'],
  },
  region_restore: {
    summary:
      'bring a dead or fenced region back as standby of the current primaries, cell by cell; healthy ' +
      'cells are left running',
    scope: 'region',
    repairs: ['region_kill', 'component_kill'],
  },
};

/** The repair that undoes a fault (nothing for a repair itself). */
export function resetOf(kind: FaultKind): FaultKind | null {
  const entry = Object.entries(FAULTS).find(([, spec]) => spec.repairs?.includes(kind));
  return entry ? (entry[0] as FaultKind) : null;
}

/** Why a fault request is not a fault this registry knows (empty = fine). */
export function faultProblems(fault: unknown): string[] {
  const problems = problemsOf(FaultSchema, fault);
  if (problems.length > 0) return problems;
  const { kind, target } = fault as Fault;
  const narrowed = target.service !== undefined || target.component !== undefined;
  if (FAULTS[kind].scope === 'region' && narrowed) {
    problems.push(`${kind} reaches whole regions only (no service or component)`);
  }
  if (FAULTS[kind].scope === 'cell' && !narrowed) {
    problems.push(`${kind} needs a service or a component (a whole region is region_kill)`);
  }
  return problems;
}

/** `dc-a`, `dc-a/payments`, `dc-a/payments/postgres`: the target as reports and logs show it. */
export function describeTarget(target: FaultTarget): string {
  return [target.region, target.service, target.component].filter(Boolean).join('/');
}

export function describeFault(fault: Fault): string {
  return `${fault.kind} ${describeTarget(fault.target)}`;
}
