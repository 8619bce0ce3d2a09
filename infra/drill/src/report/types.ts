// report.json: the minimum of test/contracts/report.schema.json plus the extra fields the drill knows.
import type { RegionName, ServiceName } from '@failover-lab/lab';
import type { ControllerEvent, Phases } from '../phases';
import type { Bucket } from '../timeline';

export interface ServiceReport {
  requests: number;
  failed: number;
  rtoMs: number | null;
  maxStallMs: number;
  ackedWrites: number;
  lostAckedWrites: number;
  duplicateWrites: number;
  invariants: Record<string, boolean>;
  // extras
  failedOver: boolean;
  servedBy: Partial<Record<RegionName, number>>;
  p99Ms: number | null;
  /** failed requests by "op error" (e.g. "transfer ECONNREFUSED", "me LOGIN_ERR_TOKEN_REVOKED") */
  errors: Record<string, number>;
  lostInAsyncWindow: number;
  /** acknowledged writes lost as the accepted RPO of async replication (see verdict.ts acceptedRpoLoss) */
  rpoLostWrites: number;
  lostSample: string[];
  /** per lostSample entry: ms between its acknowledgement and the fault (negative: acked after it) */
  lostAckedBeforeFaultMs: number[];
  notes: string[];
}

export interface PrometheusCrossCheck {
  available: boolean;
  note?: string;
  /** RTO per service from router_requests_total by outcome (resolution = the query step) */
  rtoMs?: Partial<Record<ServiceName, number | null>>;
  stepMs?: number;
}

export interface LoadSummary {
  source: 'builtin' | 'k6';
  backend: 'local' | 'compose';
  startedAt: string;
  endedAt: string;
  warmupMs: number;
  durationMs: number;
  ratePerSec: number;
  seed: number;
  /** iterations the open model scheduled, sent, and dropped because too many were in flight */
  scheduled: number;
  sent: number;
  dropped: number;
  maxInFlight: number;
}

export interface DrillReport {
  scenario: string;
  verdict: 'pass' | 'fail';
  reasons: string[];
  expected: string;
  fault: { kind: string; target: string; injectedAt: string };
  services: Record<ServiceName, ServiceReport>;
  phases: Record<string, Phases>;
  events: ControllerEvent[];
  checks: { name: string; ok: boolean; detail: string }[];
  load: LoadSummary;
  timeline: { bucketMs: number; services: Record<ServiceName, Bucket[]> };
  prometheus: PrometheusCrossCheck;
}
