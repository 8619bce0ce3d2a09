// Local lab backend: the lab supervisor does the killing (it owns every process); we only ask.
import type { ComponentName, RegionName, ServiceName } from '@failover-lab/lab';
import type { Backend, FaultTarget } from './backend';

/** The part of the lab's LabClient (docs/contracts.md, "Lab supervisor") the drill uses. */
export interface LabControl {
  status(): Promise<unknown>;
  kill(region: RegionName, options?: { service?: ServiceName; component?: ComponentName }): Promise<unknown>;
  freeze(region: RegionName): Promise<unknown>;
  thaw(region: RegionName): Promise<unknown>;
  restore(region: RegionName): Promise<unknown>;
}

export class LocalBackend implements Backend {
  readonly name = 'local' as const;

  constructor(private readonly lab: LabControl) {}

  async kill(target: FaultTarget): Promise<void> {
    await this.lab.kill(target.region, {
      ...(target.service ? { service: target.service } : {}),
      ...(target.component ? { component: target.component } : {}),
    });
  }

  async freeze(target: FaultTarget): Promise<void> {
    if (target.service || target.component) throw new Error('the local lab freezes whole regions only');
    await this.lab.freeze(target.region);
  }

  async thaw(target: FaultTarget): Promise<void> {
    if (target.service || target.component) throw new Error('the local lab thaws whole regions only');
    await this.lab.thaw(target.region);
  }

  async restore(region: RegionName): Promise<void> {
    await this.lab.restore(region);
  }

  status(): Promise<unknown> {
    return this.lab.status();
  }
}
