// The contract of a drill scenario (Toxiproxy style: one small contract, one file per fault).
import type { ControllerEvent, Fault } from '@failover-lab/contracts';
import type { AdminApi } from '../admin';
import type { Backend } from '../backends/backend';
import type { RequestRecord } from '../records';
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
}

export interface Plan {
  fault: Fault;
  expectation: Expectation;
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

export interface Scenario {
  name: ScenarioName;
  /** one line: what is broken */
  summary: string;
  /** the expected verdict and why, for the report and the README */
  expected: string;
  /** decides the target from the current state (primaries move between drills) */
  plan(ctx: ScenarioContext): Promise<Plan>;
  /** before the load starts (not measured) */
  prepare?(ctx: ScenarioContext, plan: Plan): Promise<void>;
  /** the fault itself, at the end of the warm-up */
  inject(ctx: ScenarioContext, plan: Plan): Promise<void>;
  /** while the load still runs after the fault (e.g. thaw a frozen region) */
  whileLoaded?(ctx: ScenarioContext, plan: Plan, window: LoadWindow): Promise<void>;
  /** scenario-specific checks after the load (split-brain, sync restored, app restarted) */
  verify?(ctx: ScenarioContext, plan: Plan, input: VerifyInput): Promise<Check[]>;
  /** back to steady state: every service with a primary and a streaming standby */
  reset(ctx: ScenarioContext, plan: Plan): Promise<void>;
}
