import { appCrash } from './app-crash';
import { asymmetric } from './asymmetric';
import { dbKill, loginDbKill } from './db-kill';
import { edgePartition } from './edge-partition';
import { flapping } from './flapping';
import { latencySpikes } from './latency-spikes';
import { regionFreeze } from './region-freeze';
import { regionKill } from './region-kill';
import { replicationCut, replicationPartition } from './replication-partition';
import { restore } from './restore';
import type { AnyPlan, Scenario, ScenarioName } from './scenario';
import { restoreAfterThaw, sequence } from './sequence';
import { standbyLoss } from './standby-loss';
import { switchover } from './switchover';
import { wanLatency } from './wan-latency';

export const SCENARIOS: Record<ScenarioName, Scenario<AnyPlan>> = {
  'region-kill': regionKill,
  'region-freeze': regionFreeze,
  'db-kill': dbKill,
  'login-db-kill': loginDbKill,
  'standby-loss': standbyLoss,
  'app-crash': appCrash,
  restore,
  'wan-latency': wanLatency,
  'edge-partition': edgePartition,
  'replication-partition': replicationPartition,
  'replication-cut': replicationCut,
  asymmetric,
  flapping,
  'restore-after-thaw': restoreAfterThaw,
  switchover,
  sequence,
  'latency-spikes': latencySpikes,
};

export { SCENARIO_NAMES, type Scenario, type ScenarioName } from './scenario';
