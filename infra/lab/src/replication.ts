// What a lab may be started with besides its addresses: which services replicate synchronously (the
// contract's REPLICATION_MODE unless LAB_REPLICATION="payments=async": the sync/async comparison runs
// payments both ways on the same cell pair) and the router's probe knobs (the detection sweep).
import {
  isServiceName,
  keepsSyncStandbyWhen,
  type ProbeConfig,
  ProbeConfigSchema,
  problemsOf,
  REPLICATION_MODE,
  REPLICATION_MODES,
  type ReplicationMode,
  type ServiceName,
} from '@failover-lab/contracts';
import { Type } from 'typebox';

export type ReplicationModes = Record<ServiceName, ReplicationMode>;

/** "payments=async,login=sync" → the contract's modes with those overrides; throws on anything else. */
export function replicationModes(text: string | undefined): ReplicationModes {
  const modes: ReplicationModes = { ...REPLICATION_MODE };
  for (const item of (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [service, mode, ...rest] = item.split('=');
    if (
      rest.length > 0 ||
      !isServiceName(service) ||
      !(REPLICATION_MODES as readonly string[]).includes(mode ?? '')
    ) {
      throw new Error(
        `LAB_REPLICATION must look like payments=async (service=sync|async, comma-separated); got ${JSON.stringify(item)}`,
      );
    }
    modes[service] = mode as ReplicationMode;
  }
  return modes;
}

/** The overrides as LAB_REPLICATION carries them ('' when there are none). */
export function replicationEnv(overrides: Partial<ReplicationModes> | undefined): string {
  return Object.entries(overrides ?? {})
    .map(([service, mode]) => `${service}=${mode}`)
    .join(',');
}

/**
 * The router's probe knobs for this lab (LAB_ROUTER_PROBE, JSON: {"intervalMs":100,"timeoutMs":250,
 * "fall":2}): the detection sweep starts one lab per grid point. Empty: the router's defaults.
 */
export function probeOverrides(text: string | undefined): Partial<ProbeConfig> {
  if (!text) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`LAB_ROUTER_PROBE must be a JSON object (got ${JSON.stringify(text)})`);
  }
  const problems = problemsOf(Type.Partial(ProbeConfigSchema, { additionalProperties: false }), value);
  if (problems.length > 0 || typeof value !== 'object' || value === null)
    throw new Error(`LAB_ROUTER_PROBE: ${problems.join('; ') || 'must be a JSON object'}`);
  return value as Partial<ProbeConfig>;
}

/** Whether the service's primary names its standby in synchronous_standby_names in this lab. */
export function keepsSyncStandbyIn(modes: ReplicationModes | undefined, service: ServiceName): boolean {
  return keepsSyncStandbyWhen(service, modes?.[service] ?? REPLICATION_MODE[service]);
}
