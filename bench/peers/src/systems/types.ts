import type { BenchClient } from '../load';
import type { Processes } from '../procs';

export type SystemName = 'project' | 'patroni' | 'sentinel';
export type ConfigName = 'default' | 'tuned';

export interface BenchContext {
  procs: Processes;
  /** second octet of every address the benchmark uses (its lab subnet) */
  subnet: number;
  log: (line: string) => void;
  /** keep data dirs and logs after the processes are stopped (a post-mortem) */
  keepState: boolean;
}

/** One fresh (or freshly steady) primary/standby pair under one configuration, ready for the fault. */
export interface PreparedRun {
  client: BenchClient;
  /** SIGKILL to the current primary's whole process family; resolves with the time right before */
  inject(): Promise<number>;
  /** after recovery: how many times the new primary holds each of these write ids */
  audit(ids: string[]): Promise<Map<string, number>>;
  /** failovers beyond the one the fault asked for, from what the system itself reported */
  spurious(): Promise<number>;
  /** what happened, for the JSON (new primary, pids killed, raw events) */
  details(): Record<string, unknown>;
  /** closes clients and stops the pair (the project: nothing; its lab outlives the run) */
  close(): Promise<void>;
}

export interface SystemUnderTest {
  system: SystemName;
  config: ConfigName;
  /** the settings that differ from the software's defaults, said in words for the report */
  settings: string;
  /** upper bound for fault → recovered; a run past it counts as not recovered */
  maxAfterFaultMs: number;
  prepare(ctx: BenchContext): Promise<void>;
  startRun(ctx: BenchContext, run: number): Promise<PreparedRun>;
  finish(ctx: BenchContext): Promise<void>;
}
