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
