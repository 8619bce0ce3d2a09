// One interface for every way of running the platform, so a drill means the same thing everywhere.
import type { ComponentName, RegionName, ServiceName } from '@failover-lab/lab';

/** A whole region, one service's cell in it, or one component of that cell. */
export interface FaultTarget {
  region: RegionName;
  service?: ServiceName;
  component?: ComponentName;
}

export interface Backend {
  readonly name: 'local' | 'compose';
  /** SIGKILL (docker kill): the fire */
  kill(target: FaultTarget): Promise<void>;
  /** SIGSTOP (docker pause): hangs without closing connections, like a partition */
  freeze(target: FaultTarget): Promise<void>;
  thaw(target: FaultTarget): Promise<void>;
  /** bring a region back; in the lab it rejoins as standby of the current primaries */
  restore(region: RegionName): Promise<void>;
  status(): Promise<unknown>;
}

export function describeTarget(target: FaultTarget): string {
  return [target.region, target.service, target.component].filter(Boolean).join('/');
}
