// The contract of a lab fault plug-in: apply it to a target, or reset it (back to healthy). The
// names, targets and what each one means are the contract's (@failover-lab/contracts, faults.ts).
import type { Fault, FaultTarget } from '@failover-lab/contracts';
import type { LabContext } from '../context';

export interface Outcome {
  /** process ids reached (`payments-dc-a-postgres`) */
  affected: string[];
  /** region_restore: what each service's cell in the region became */
  roles?: Record<string, string>;
}

export interface LabFault {
  /** `fault` carries the direction and attributes a link fault needs */
  apply(ctx: LabContext, target: FaultTarget, fault?: Fault): Promise<Outcome>;
  reset(ctx: LabContext, target: FaultTarget, fault?: Fault): Promise<Outcome>;
}

export const nothingToUndo = async (): Promise<Outcome> => ({ affected: [] });
