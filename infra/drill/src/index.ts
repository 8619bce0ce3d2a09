// The drill runner's public surface: run a drill programmatically (tests, other tools), read its records.

export type { DrillReport } from '@failover-lab/contracts';
export type { Backend, CellAccess, CellAnswer, CellCall, FaultInjector } from './backends/backend';
export { ComposeBackend, type ComposeSecrets, LABEL } from './backends/compose';
export { LocalBackend, type LocalCells } from './backends/local';
export { isAcknowledgedWrite, type Op, type RequestRecord, WRITE_OPS } from './records';
export { DEFAULT_OPTIONS, type DrillEnvironment, type DrillHooks, type DrillOptions, runDrill } from './run';
export { SCENARIO_NAMES, SCENARIOS, type Scenario, type ScenarioName } from './scenarios';
