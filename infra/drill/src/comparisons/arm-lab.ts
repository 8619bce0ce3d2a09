// What every comparison's arm stands on: a lab of its own, set up as the arm asks (where the control
// plane runs, how each service replicates), started by the CLI (only it may import the lab) and torn
// down after the arm; and the ordinary drill run inside it, its report kept beside the comparison's.
import { loadavg } from 'node:os';
import path from 'node:path';
import type {
  ArmOutcome,
  ComparisonArm,
  ControlPlanePlacement,
  ProbeConfig,
  ReplicationMode,
  ServiceName,
} from '@failover-lab/contracts';
import type { RequestRecord } from '../records';
import { type DrillEnvironment, type DrillHooks, type DrillOptions, runDrill } from '../run';
import { armFromDrillReport } from './arms';

export interface ArmSetup {
  controlPlane: ControlPlanePlacement;
  /** overrides of the contract's REPLICATION_MODE */
  replication?: Partial<Record<ServiceName, ReplicationMode>>;
  /** the router's probe knobs (the detection sweep) */
  probe?: Partial<ProbeConfig>;
}

/** A lab for one arm, set up as asked; `stop` tears it down (and wipes it). */
export interface ArmLab {
  env: DrillEnvironment;
  stop(): Promise<void>;
}

export type StartArm = (setup: ArmSetup) => Promise<ArmLab>;

export async function withArm(
  startArm: StartArm,
  setup: ArmSetup,
  run: (lab: ArmLab) => Promise<ComparisonArm>,
): Promise<ComparisonArm> {
  const lab = await startArm(setup);
  try {
    return await run(lab);
  } finally {
    await lab.stop();
  }
}

export const load1m = () => Number(loadavg()[0]!.toFixed(2));

/** The drill's own scenario in the arm's lab, its report in `<outDir>/<dir>/`, as an arm. */
export async function drillArm(
  lab: ArmLab,
  drill: DrillOptions,
  hooks: DrillHooks,
  arm: { name: string; dir: string; controlPlane: ControlPlanePlacement; expected: ArmOutcome; why: string },
): Promise<ComparisonArm> {
  const loadStart = load1m();
  let records: RequestRecord[] = [];
  const report = await runDrill(
    // the lab is torn down after the arm: no reset needed
    { ...drill, outDir: path.join(drill.outDir, arm.dir), resetAfter: false },
    lab.env,
    {
      ...hooks,
      beforeAudit: async (input) => {
        records = input.records;
        await hooks.beforeAudit?.(input);
      },
    },
  );
  return armFromDrillReport({
    name: arm.name,
    controlPlane: arm.controlPlane,
    expected: arm.expected,
    why: arm.why,
    report,
    records,
    reportPath: `${arm.dir}/report.json`,
    loadAverage: { start: loadStart, end: load1m() },
  });
}
