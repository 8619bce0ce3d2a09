// Which services replicate synchronously in this lab: the contract's REPLICATION_MODE, unless the lab
// was started with overrides (LAB_REPLICATION="payments=async"; the sync/async comparison runs payments
// both ways on the same cell pair).
import {
  isServiceName,
  REPLICATION_MODE,
  REPLICATION_MODES,
  type ReplicationMode,
  type ServiceName,
} from '@failover-lab/contracts';

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
