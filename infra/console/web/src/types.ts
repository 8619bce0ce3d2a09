// The shapes the page reads from the console server (src/live.ts, src/traffic.ts, src/drills.ts and
// the lab's `status --json`). Written out here because the page is built for the browser and must
// not pull the server's Node modules into its type check.
export const SERVICES = ['login', 'payments', 'messaging'] as const;
export type ServiceName = (typeof SERVICES)[number];
export const REGIONS = ['dc-a', 'dc-b'] as const;
export type RegionName = (typeof REGIONS)[number];
export const COMPONENTS = ['postgres', 'redis', 'app'] as const;
export type ComponentName = (typeof COMPONENTS)[number];

export interface SourceView<T> {
  ok: boolean;
  error: string | null;
  value: T | null;
  updatedAt: string | null;
}

export interface RouterCell {
  status: string;
  role: string | null;
  epoch: number | null;
  fenced: boolean | null;
  replicationLagBytes: number | null;
  lastProbeMs: number | null;
  lastError: string | null;
}

export interface RouterService {
  primary: RegionName;
  epoch: number;
  mode: 'sync' | 'async';
  serving: boolean;
  refuseWrites: boolean;
  rpoGuaranteeSuspended: boolean;
  /** absent from routers that predate it: active-passive */
  topology?: 'active-passive' | 'active-active';
  /** active-active: the regions taking traffic now */
  active?: RegionName[];
  cells: Record<RegionName, RouterCell>;
}

export interface RouterStatus {
  at: string;
  services: Record<ServiceName, RouterService>;
}

export interface LabCell {
  service: ServiceName;
  region: RegionName;
  host: string;
  postgres: { role: string; lagBytes: number | null; replication: string };
  redis: { role: string; link: string };
  app: { state: string; restarts: number };
}

export interface LabStatus {
  subnet: number;
  messagingTopology?: 'active-passive' | 'active-active';
  cells: LabCell[];
  edge: {
    host: string;
    router: { state: string; url: string };
    prometheus: { state: string; url: string };
  };
}

export interface ControllerEvent {
  at: string;
  type: string;
  service: ServiceName;
  region: RegionName;
  epoch: number;
  detail?: string;
  /** a promotion's steps in ms (PromotionStepsSchema in the contracts) */
  steps?: Record<string, number>;
}

export interface ServicePoint {
  requests: number;
  failed: number;
  successRate: number | null;
  p99Ms: number | null;
}

export interface MetricsPoint {
  t: number;
  intervalMs: number;
  services: Record<ServiceName, ServicePoint>;
}

export interface TrafficCounts {
  sent: number;
  ok: number;
  failed: number;
  errors: Record<string, number>;
}

export interface TrafficState {
  state: 'idle' | 'starting' | 'running' | 'stopping' | 'failed';
  ratePerSec: number | null;
  startedAt: string | null;
  stoppedAt: string | null;
  error: string | null;
  recordsFile: string | null;
  dropped: number;
  services: Record<ServiceName, TrafficCounts>;
}

export interface DrillSummary {
  id: string;
  scenario: string;
  verdict: 'pass' | 'fail';
  reasons: string[];
  fault: { kind: string; target: string; injectedAt: string };
  services: Partial<
    Record<ServiceName, { requests: number; failed: number; rtoMs: number | null; maxStallMs: number }>
  >;
  hasHtml: boolean;
}

export interface DrillRun {
  id: string;
  request: { scenario: string; warmupS: number; durationS: number; ratePerSec: number; users: number };
  state: 'running' | 'passed' | 'failed' | 'error';
  startedAt: string;
  endedAt: string | null;
  exitCode: number | null;
  progress: {
    elapsedS: number;
    phase: string;
    reqPerSec: number;
    services: Partial<Record<ServiceName, { ok: number; failed: number }>>;
    dropped: number;
  } | null;
  log: string[];
  summary: DrillSummary | null;
}

export interface Capabilities {
  faults: boolean;
  drills: boolean;
  traffic: boolean;
  switchover: boolean;
}

export interface Session {
  mode: 'lab' | 'compose';
  capabilities: Capabilities;
  scenarios: { name: string; summary: string }[];
  drillLimits: Record<
    'warmupS' | 'durationS' | 'ratePerSec' | 'users',
    { min: number; max: number; default: number }
  >;
  edge: { routerUrl: string; prometheusUrl: string | null };
}

export interface Snapshot {
  kind: 'snapshot';
  mode: 'lab' | 'compose';
  capabilities: Capabilities;
  router: SourceView<RouterStatus>;
  lab: SourceView<LabStatus> | null;
  faults: string[];
  events: ControllerEvent[];
  points: MetricsPoint[];
  traffic: TrafficState | null;
  drill: DrillRun | null;
  history: DrillSummary[];
}

export type StreamMessage =
  | Snapshot
  | { kind: 'router'; router: SourceView<RouterStatus>; faults: string[] }
  | { kind: 'lab'; lab: SourceView<LabStatus>; faults: string[] }
  | { kind: 'events'; events: ControllerEvent[] }
  | { kind: 'point'; point: MetricsPoint }
  | { kind: 'traffic'; traffic: TrafficState }
  | { kind: 'drill'; drill: DrillRun }
  | { kind: 'history'; history: DrillSummary[] };
