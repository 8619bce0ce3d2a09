// A fault is data (Toxiproxy's toxics, Chaos Mesh's NetworkChaos): {kind, target, direction?,
// attributes?}. This file is the one registry of fault names; the lab supervisor, the lab CLI, the
// drill and its compose backend all speak these names, and each backend implements every one of them
// (a Record<FaultKind, …> there makes a missing one a type error).
//
// Names are snake_case and say what happens. Attribute names carry their unit (latency_ms, jitter_ms,
// rate_kbps, loss_pct), so a number never needs a comment to be read.
import { type Static, Type } from 'typebox';
import { problemsOf } from './problems';
import { ComponentNameSchema, REGIONS, RegionNameSchema, ServiceNameSchema } from './vocabulary';

export const FAULT_KINDS = [
  'region_kill',
  'component_kill',
  'region_freeze',
  'region_thaw',
  'region_restore',
  'link_latency',
  'link_bandwidth',
  'link_loss',
  'link_partition',
  'link_reset',
  'link_heal',
] as const;
export const FaultKindSchema = Type.Enum(FAULT_KINDS);
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Where a link starts: the edge (the router's side) or a region. */
export const LINK_ENDS = ['edge', ...REGIONS] as const;
export const LinkEndSchema = Type.Enum(LINK_ENDS);
export type LinkEnd = (typeof LINK_ENDS)[number];

/**
 * What a fault reaches: a region, one service's cell in it, or one component of that cell; for a link
 * fault, the link from `from` to `region` (narrowed to one service's connections by `service`).
 * `edge` → dc-a is the router's link to dc-a's cells; dc-a → dc-b is the replication link between the
 * regions (one link: `direction` says which way its packets are hit).
 */
export const FaultTargetSchema = Type.Object(
  {
    region: RegionNameSchema,
    service: Type.Optional(ServiceNameSchema),
    component: Type.Optional(ComponentNameSchema),
    from: Type.Optional(LinkEndSchema),
  },
  { additionalProperties: false },
);
export type FaultTarget = Static<typeof FaultTargetSchema>;

/**
 * Which way a fault on a link acts (Chaos Mesh's direction): `to` hits the packets from `from` to
 * `region`, `from` the packets coming back, `both` both.
 */
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
  /**
   * region: the whole region only; cell: a service's cell or a component (at least one of the two);
   * link: the link from `target.from` to `target.region` (optionally one service's connections on it)
   */
  scope: 'region' | 'cell' | 'link';
  /** link faults: the direction when the request names none */
  defaultDirection?: FaultDirection;
  /** link faults: the attributes it needs (required) and may take (optional), each with its unit */
  attributes?: { required: readonly string[]; optional?: readonly string[] };
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
  link_latency: {
    summary:
      'delay every byte on the link by latency_ms (± jitter_ms, order kept): a slow WAN; reset: link_heal',
    scope: 'link',
    defaultDirection: 'to',
    attributes: { required: ['latency_ms'], optional: ['jitter_ms'] },
  },
  link_bandwidth: {
    summary: 'cap the link at rate_kbps (bytes queue behind the cap, the sender is slowed); reset: link_heal',
    scope: 'link',
    defaultDirection: 'to',
    attributes: { required: ['rate_kbps'] },
  },
  link_loss: {
    summary:
      'lose loss_pct of the segments: TCP retransmits them, so each loss is a stall of one retransmission ' +
      'timeout (200 ms) with order kept; reset: link_heal',
    scope: 'link',
    defaultDirection: 'to',
    attributes: { required: ['loss_pct'] },
  },
  link_partition: {
    summary:
      'blackhole: nothing crosses the link (new connections hang, open ones stall without a reset); ' +
      'what was sent crosses after the heal, as TCP retransmits it; reset: link_heal',
    scope: 'link',
    defaultDirection: 'both',
  },
  link_reset: {
    summary: 'reset (RST) every connection open on the link now; nothing stays broken',
    scope: 'link',
    defaultDirection: 'both',
  },
  link_heal: {
    summary: 'remove every fault on the link (both directions, every service on it)',
    scope: 'link',
    defaultDirection: 'both',
    repairs: ['link_latency', 'link_bandwidth', 'link_loss', 'link_partition'],
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
  const { kind, target, attributes = {} } = fault as Fault;
  const spec = FAULTS[kind];
  if (spec.scope === 'link') return linkProblems(fault as Fault, spec);
  if (target.from !== undefined) problems.push(`${kind} is not a link fault (no from)`);
  if (fault && (fault as Fault).direction !== undefined)
    problems.push(`${kind} is not a link fault (no direction)`);
  if (Object.keys(attributes).length > 0) problems.push(`${kind} takes no attributes`);
  const narrowed = target.service !== undefined || target.component !== undefined;
  if (FAULTS[kind].scope === 'region' && narrowed) {
    problems.push(`${kind} reaches whole regions only (no service or component)`);
  }
  if (FAULTS[kind].scope === 'cell' && !narrowed) {
    problems.push(`${kind} needs a service or a component (a whole region is region_kill)`);
  }
  return problems;
}

function linkProblems(fault: Fault, spec: FaultSpec): string[] {
  const { kind, target, attributes = {} } = fault;
  const problems: string[] = [];
  if (target.from === undefined)
    problems.push(`${kind} needs from (edge, dc-a or dc-b): the link's other end`);
  if (target.from === target.region) problems.push(`${kind}: a link joins two different ends`);
  if (target.component !== undefined) problems.push(`${kind} reaches a link, not a component`);
  const required = spec.attributes?.required ?? [];
  const allowed = new Set([...required, ...(spec.attributes?.optional ?? [])]);
  for (const name of required) {
    if (attributes[name] === undefined) problems.push(`${kind} needs ${name}`);
  }
  for (const name of Object.keys(attributes)) {
    if (!allowed.has(name)) problems.push(`${kind} takes no ${name}`);
  }
  if (attributes.loss_pct !== undefined && attributes.loss_pct > 100)
    problems.push('loss_pct is at most 100');
  if (attributes.rate_kbps !== undefined && attributes.rate_kbps < 1)
    problems.push('rate_kbps is at least 1');
  return problems;
}

/** The direction a link fault acts in: the request's, else its kind's default. */
export function directionOf(fault: Fault): FaultDirection {
  return fault.direction ?? FAULTS[fault.kind].defaultDirection ?? 'both';
}

/**
 * `dc-a`, `dc-a/payments`, `dc-a/payments/postgres`; a link: `edge→dc-a`, `dc-a→dc-b/payments`: the
 * target as reports and logs show it.
 */
export function describeTarget(target: FaultTarget): string {
  const to = [target.region, target.service, target.component].filter(Boolean).join('/');
  return target.from ? `${target.from}→${to}` : to;
}

export function describeFault(fault: Fault): string {
  const base = `${fault.kind} ${describeTarget(fault.target)}`;
  if (FAULTS[fault.kind].scope !== 'link') return base;
  const attributes = Object.entries(fault.attributes ?? {}).map(([name, value]) => `${name}=${value}`);
  return [base, `direction=${directionOf(fault)}`, ...attributes].join(' ');
}
