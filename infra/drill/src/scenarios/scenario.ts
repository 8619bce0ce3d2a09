// The contract of a drill scenario (Toxiproxy style: one small contract, one file per fault).
import type { ControllerEvent, DrillOperation, Fault, FaultTarget } from '@failover-lab/contracts';
import type { AdminApi } from '../admin';
import type { Backend } from '../backends/backend';
import type { RequestRecord } from '../records';
import type { StepRecorder } from '../steps';
import type { Expectation } from '../verdict';

export const SCENARIO_NAMES = [
  'region-kill',
  'region-freeze',
  'db-kill',
  'login-db-kill',
  'standby-loss',
  'app-crash',
  'restore',
  'wan-latency',
  'edge-partition',
  'replication-partition',
  'replication-cut',
  'asymmetric',
  'flapping',
  'restore-after-thaw',
  'switchover',
  'sequence',
  'latency-spikes',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ScenarioContext {
  backend: Backend;
  admin: AdminApi;
  log: (line: string) => void;
  /** set by the runner once the load is seeded: a drill that chains faults records each one here */
  steps?: StepRecorder;
}

/** A planned operation the drill asks the router for instead of breaking something (switchover). */
export interface Operation {
  kind: DrillOperation;
  target: FaultTarget;
}

/** What the runner needs of any plan: the thing it injects (a fault, or an operation) and the verdict. */
export interface AnyPlan {
  fault: Fault | Operation;
  expectation: Expectation;
}

export interface Plan extends AnyPlan {
  fault: Fault;
}

export interface LoadWindow {
  faultMs: number;
  loadEndsAtMs: number;
}

export interface VerifyInput {
  records: RequestRecord[];
  events: ControllerEvent[];
  faultMs: number;
}

export interface Scenario<P extends AnyPlan = Plan> {
  name: ScenarioName;
  /** one line: what is broken */
  summary: string;
  /** the expected verdict and why, for the report and the README */
  expected: string;
  /** decides the target from the current state (primaries move between drills) */
  plan(ctx: ScenarioContext): Promise<P>;
  /** before the load starts (not measured) */
  prepare?(ctx: ScenarioContext, plan: P): Promise<void>;
  /** the fault itself, at the end of the warm-up */
  inject(ctx: ScenarioContext, plan: P): Promise<void>;
  /** while the load still runs after the fault (e.g. thaw a frozen region) */
  whileLoaded?(ctx: ScenarioContext, plan: P, window: LoadWindow): Promise<void>;
  /** scenario-specific checks after the load (split-brain, sync restored, app restarted) */
  verify?(ctx: ScenarioContext, plan: P, input: VerifyInput): Promise<Check[]>;
  /** back to steady state: every service with a primary and a streaming standby */
  reset(ctx: ScenarioContext, plan: P): Promise<void>;
}
