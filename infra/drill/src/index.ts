// The drill runner's public surface: run a drill programmatically (tests, other tools), read its records,
// and the load on its own (the lab console's "traffic" runs the drill's workload without a fault).

export { AdminApi } from './admin';
export type { Backend, CellAnswer, CellCall, FaultTarget } from './backends/backend';
export { ComposeBackend, type ComposeSecrets, LABEL } from './backends/compose';
export { LocalBackend, type LocalCells } from './backends/local';
export { RecordingClient } from './load/http';
export { type ArrivalSpec, type OpenModelSummary, runOpenModel } from './load/open-model';
export { setUpDrill } from './load/setup';
export { MIX, workload } from './load/workload';
export { ProgressTally } from './progress';
export { isAcknowledgedWrite, type Op, type RequestRecord, WRITE_OPS } from './records';
export type { DrillReport } from './report/types';
export { DEFAULT_OPTIONS, type DrillEnvironment, type DrillHooks, type DrillOptions, runDrill } from './run';
export { SCENARIO_NAMES, SCENARIOS, type Scenario, type ScenarioName } from './scenarios';
