import { appCrash } from './app-crash';
import { dbKill } from './db-kill';
import { regionFreeze } from './region-freeze';
import { regionKill } from './region-kill';
import { restore } from './restore';
import type { Scenario, ScenarioName } from './scenario';
import { standbyLoss } from './standby-loss';

export const SCENARIOS: Record<ScenarioName, Scenario> = {
  'region-kill': regionKill,
  'region-freeze': regionFreeze,
  'db-kill': dbKill,
  'standby-loss': standbyLoss,
  'app-crash': appCrash,
  restore,
};

export { SCENARIO_NAMES, type Scenario, type ScenarioName } from './scenario';
