// What every comparison's arm stands on: a lab of its own, set up as the arm asks (where the control
// plane runs, how each service replicates), started by the CLI (only it may import the lab) and torn
// down after the arm; and the ordinary drill run inside it, its report kept beside the comparison's.
import { loadavg } from 'node:os';
import path from 'node:path';
import type {
  ComparisonArm,
  ControlPlanePlacement,
  ProbeConfig,
  ReplicationMode,
  ServiceName,
} from '@failover-lab/contracts';
import type { RequestRecord } from '../records';
import { type DrillEnvironment, type DrillHooks, type DrillOptions, runDrill } from '../run';
import { type ArmPlan, armFromDrillReport, unfinishedArm } from './arms';

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
  /** copies the lab's logs to `dest` (before `stop` wipes them), for an arm that did not finish */
  keepLogs?(dest: string): Promise<void>;
  stop(): Promise<void>;
}

export type StartArm = (setup: ArmSetup) => Promise<ArmLab>;

/**
 * Runs one arm in a lab of its own. An arm that cannot finish (its lab does not come up, its drill
 * stops in set-up) is reported as such, with the lab's logs kept under `<outDir>/<dir>/lab-logs`, and
 * the comparison goes on with its other arms: one overloaded start must not throw away the rest.
 */
export async function withArm(
  startArm: StartArm,
  setup: ArmSetup,
  plan: ArmPlan & { outDir: string; log?: (line: string) => void },
  run: (lab: ArmLab) => Promise<ComparisonArm>,
): Promise<ComparisonArm> {
  const loadStart = load1m();
  let lab: ArmLab | null = null;
  try {
    lab = await startArm(setup);
    return await run(lab);
  } catch (err) {
    const error = (err as Error).message;
    plan.log?.(`arm ${plan.name} did not finish: ${error}`);
    let labLogs: string | undefined;
    if (lab?.keepLogs) {
      labLogs = `${plan.dir}/lab-logs`;
      await lab.keepLogs(path.join(plan.outDir, labLogs)).catch(() => {
        labLogs = undefined;
      });
    }
    return unfinishedArm(plan, {
      error,
      atMs: Date.now(),
      loadAverage: { start: loadStart, end: load1m() },
      ...(labLogs ? { labLogs } : {}),
    });
  } finally {
    await lab?.stop();
  }
}

export const load1m = () => Number(loadavg()[0]!.toFixed(2));

/** The drill's own scenario in the arm's lab, its report in `<outDir>/<dir>/`, as an arm. */
export async function drillArm(
  lab: ArmLab,
  drill: DrillOptions,
  hooks: DrillHooks,
  arm: ArmPlan,
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
