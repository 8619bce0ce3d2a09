// The words every part of the platform shares: which services and regions exist, what a cell is
// made of, and how each service replicates. Everything else (lab addresses, compose names, router
// config) is built from these, so adding a service or a region is a change in one place.
import { type Static, Type } from 'typebox';

export const SERVICES = ['login', 'payments', 'messaging'] as const;
export type ServiceName = (typeof SERVICES)[number];
export const ServiceNameSchema = Type.Enum(SERVICES);

export const REGIONS = ['dc-a', 'dc-b'] as const;
export type RegionName = (typeof REGIONS)[number];
export const RegionNameSchema = Type.Enum(REGIONS);

/** What one cell is made of; a fault may target one of them. */
export const COMPONENTS = ['postgres', 'redis', 'app'] as const;
export type ComponentName = (typeof COMPONENTS)[number];
export const ComponentNameSchema = Type.Enum(COMPONENTS);

/**
 * sync: a commit is acknowledged only once the standby has it (RPO 0); async: commits are local and a
 * failover may lose the last instant of acknowledged writes (measured by the drills, never hidden).
 */
export const REPLICATION_MODES = ['sync', 'async'] as const;
export const ReplicationModeSchema = Type.Enum(REPLICATION_MODES);
export type ReplicationMode = Static<typeof ReplicationModeSchema>;

/** How each service's primary replicates to its standby. Money may not be lost; the rest may be. */
export const REPLICATION_MODE: Readonly<Record<ServiceName, ReplicationMode>> = {
  login: 'async',
  payments: 'sync',
  messaging: 'async',
};

/**
 * Which of a service's commits wait for its standby: all of them (sync), none, or only its
 * revocation class — login's sign-outs, family revocations and refresh rotations, because one lost in
 * a failover makes a signed-out or stolen token work again on the promoted standby. A service with any
 * waiting commits keeps its standby in synchronous_standby_names; the rest of its commits say
 * synchronous_commit=local and do not wait.
 */
export const SYNC_COMMITS = ['all', 'revocations', 'none'] as const;
export type SyncCommits = (typeof SYNC_COMMITS)[number];

export const SYNC_COMMITS_OF: Readonly<Record<ServiceName, SyncCommits>> = {
  login: 'revocations',
  payments: 'all',
  messaging: 'none',
};

/**
 * The service's primary names its standby in synchronous_standby_names, so losing the standby stalls
 * some commits: the router degrades or refuses (strict) for it as for payments, and restores it.
 */
export const keepsSyncStandby = (service: ServiceName): boolean => SYNC_COMMITS_OF[service] !== 'none';

/**
 * The same for a lab that runs the service in `mode` (LAB_REPLICATION, the sync/async comparison): a
 * service switched to async (payments=async) keeps no sync standby, one switched to sync keeps one,
 * one left as it is keeps what the contract says (login: its revocations, while its other commits are
 * async).
 */
export const keepsSyncStandbyWhen = (service: ServiceName, mode: ReplicationMode): boolean =>
  mode === REPLICATION_MODE[service] ? keepsSyncStandby(service) : mode === 'sync';

/**
 * What identifies one write, per service: the table and its key column. A stale primary's row whose
 * key the current primary lacks is a forked write, exported to quarantine before that node is rebuilt
 * (docs/fencing.md, "Quarantine of forked writes") — by the lab's restore and by the compose Postgres
 * entrypoint alike, which both read this list.
 */
export const FORK_KEYS: Readonly<Record<ServiceName, readonly { table: string; key: string }[]>> = {
  payments: [{ table: 'transfers', key: 'idempotency_key' }],
  messaging: [{ table: 'messages', key: 'id' }],
  login: [
    { table: 'users', key: 'id' },
    { table: 'session_families', key: 'family_id' },
    { table: 'revoked_access_tokens', key: 'jti' },
  ],
};

/** A cell's own view of itself: fenced wins, else its Postgres decides (in recovery = standby). */
export const CELL_ROLES = ['primary', 'standby', 'fenced'] as const;
export type CellRole = (typeof CELL_ROLES)[number];
export const CellRoleSchema = Type.Enum(CELL_ROLES);

/**
 * Where the control plane (router + failover controller, its persisted state, Prometheus) runs: at the
 * edge, outside every region (the design), or inside a region, sharing its fate (a region kill takes
 * it down too).
 */
export const CONTROL_PLANE_PLACEMENTS = ['edge', ...REGIONS] as const;
export type ControlPlanePlacement = (typeof CONTROL_PLANE_PLACEMENTS)[number];
export const ControlPlanePlacementSchema = Type.Enum(CONTROL_PLANE_PLACEMENTS);

export const isControlPlanePlacement = (value: unknown): value is ControlPlanePlacement =>
  (CONTROL_PLANE_PLACEMENTS as readonly unknown[]).includes(value);

/** At start every service's primary is here. */
export const INITIAL_PRIMARY: RegionName = 'dc-a';

export function otherRegion(region: RegionName): RegionName {
  return region === 'dc-a' ? 'dc-b' : 'dc-a';
}

export const isServiceName = (value: unknown): value is ServiceName =>
  (SERVICES as readonly unknown[]).includes(value);

export const isRegionName = (value: unknown): value is RegionName =>
  (REGIONS as readonly unknown[]).includes(value);

/**
 * How a service's two regions share its writes (docs/active-active.md). active-passive: one primary,
 * the other region a physical streaming standby promoted on failover. active-active (messaging only):
 * each region is primary for the writes it takes and receives the other region's through PostgreSQL
 * logical replication; a region loss moves users to the other region without any promotion.
 */
export const SERVICE_TOPOLOGIES = ['active-passive', 'active-active'] as const;
export type ServiceTopology = (typeof SERVICE_TOPOLOGIES)[number];
export const ServiceTopologySchema = Type.Enum(SERVICE_TOPOLOGIES);
export const isServiceTopology = (value: unknown): value is ServiceTopology =>
  (SERVICE_TOPOLOGIES as readonly unknown[]).includes(value);

/** The services that may run active-active (append-mostly, client-generated ids). */
export const ACTIVE_ACTIVE_SERVICES: readonly ServiceName[] = ['messaging'];

/**
 * The home region of a key (active-active: the room a request is about). Sticky and the same in every
 * router: FNV-1a (32 bit) of the key's UTF-8 bytes, modulo the number of regions, indexes REGIONS.
 * A room's writes all land in one region while it is up, so the two regions only write the same room
 * at once around a region loss: that is where conflicts can come from.
 */
export function homeRegion(key: string): RegionName {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(key)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return REGIONS[hash % REGIONS.length]!;
}

/**
 * Active-active: the logical replication subscription that carries `origin`'s writes to the other
 * region, named after the origin (also its slot, and its application_name in the origin's
 * pg_stat_replication).
 */
export const subscriptionFrom = (origin: RegionName) => `from_${origin.replace('-', '_')}`;

/** Active-active: the publication of `origin`'s own tables (services/messaging/src/migrations-active-active). */
export const publicationOf = (origin: RegionName) => `messages_${origin.replace('-', '_')}`;

/** Where a region's subscription reaches the other region's Postgres, and the 0600 passfile it reads. */
export interface SubscriptionSource {
  host: string;
  port: number;
  passfile: string;
}

/**
 * The one statement that makes `region` receive the other region's writes (the lab and the compose
 * Postgres entrypoint both run exactly this). The replicator's password stays in the passfile, never
 * in the catalog or a logged statement. Identifiers come from the closed list of regions; host and
 * passfile from the caller's own topology, never from a request.
 */
export function subscriptionStatement(region: RegionName, source: SubscriptionSource): string {
  const origin = otherRegion(region);
  const name = subscriptionFrom(origin);
  for (const value of [source.host, source.passfile])
    if (!/^[\w./-]+$/.test(value)) throw new Error(`not a plain host or path: ${JSON.stringify(value)}`);
  const conninfo = [
    `host=${source.host}`,
    `port=${source.port}`,
    'dbname=messaging',
    'user=replicator',
    `passfile=${source.passfile}`,
    `application_name=${name}`,
    'connect_timeout=2',
  ].join(' ');
  return `CREATE SUBSCRIPTION ${name} CONNECTION '${conninfo}' PUBLICATION ${publicationOf(origin)}`;
}
