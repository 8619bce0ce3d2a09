// The comparison's pure parts: each arm judged against its own expectation (an arm expected to stay
// down passes by staying down), the comparison's verdict, the contract shape, and the Markdown.
import {
  ComparisonReportSchema,
  type ControllerEvent,
  problemsOf,
  SERVICES,
  type ServiceName,
} from '@failover-lab/contracts';
import { describe, expect, it } from 'vitest';
import type { AuditFindings } from '../src/audit';
import { type ArmLab, withArm } from '../src/comparisons/arm-lab';
import {
  armFromDrillReport,
  judgeComparison,
  type StaysDownMeasurement,
  staysDownArm,
} from '../src/comparisons/arms';
import { operatorSteps } from '../src/comparisons/control-plane';
import { renderComparisonMarkdown } from '../src/comparisons/markdown';
import { buildReport } from '../src/report/build';
import { record, steadyWithOutage } from './fixtures';

const start = Date.parse('2026-11-22T01:00:00.000Z');
const fault = start + 6_000;
const at = (ms: number) => new Date(ms).toISOString();
const window = { startedAtMs: start - 60_000, endedAtMs: start + 120_000 };

/** Every request after the kill refused: nobody listens at the router's address any more. */
function deadAfterKill(okAfter = 0) {
  return SERVICES.flatMap((service) => {
    const records = steadyWithOutage({
      service,
      fromMs: start,
      toMs: fault + 30_000,
      everyMs: 100,
      downFrom: fault,
      downTo: fault + 30_000,
    }).map((r) => (r.ok ? r : { ...r, status: 0, error: 'ECONNREFUSED' }));
    for (let i = 0; i < okAfter; i++) records.push(record({ service, startMs: fault + 5_000 + i }));
    return records;
  });
}

function kakao(overrides: Partial<StaysDownMeasurement> = {}): StaysDownMeasurement {
  const none = Object.fromEntries(SERVICES.map((s) => [s, false])) as Record<ServiceName, boolean>;
  return {
    name: 'control plane inside dc-a',
    controlPlane: 'dc-a',
    why: 'the router burned with dc-a',
    fault: { kind: 'region_kill', target: 'dc-a' },
    faultMs: fault,
    injectedMs: fault + 40,
    watchedUntilMs: fault + 30_000,
    records: deadAfterKill(),
    audit: Object.fromEntries(
      SERVICES.map((s) => [s, { ackedWrites: 50, lostAckedWrites: 0, auditedOn: 'the dc-b standby' }]),
    ) as StaysDownMeasurement['audit'],
    promoted: none,
    checks: [{ name: 'the router died with the region', ok: true, detail: '0 of 30 probes answered' }],
    operatorSteps: operatorSteps('dc-a'),
    loadAverage: { start: 6.1, end: 6.8 },
    ...overrides,
  };
}

function edgeReport(recoverAfterMs: number | null) {
  // the outage fails sign-ins: a failed retry-safe request would fail the arm by itself (verdict.ts)
  const records = SERVICES.flatMap((service) =>
    steadyWithOutage({
      service,
      op: 'signin',
      fromMs: start,
      toMs: start + 30_000,
      everyMs: 50,
      downFrom: fault,
      downTo: recoverAfterMs === null ? start + 30_000 : fault + recoverAfterMs,
    }),
  );
  const events: ControllerEvent[] = SERVICES.flatMap((service) => [
    { at: at(fault + 700), type: 'confirmed_down', service, region: 'dc-a', epoch: 1 },
    { at: at(fault + 720), type: 'promote_started', service, region: 'dc-b', epoch: 2 },
    { at: at(fault + 1_000), type: 'promoted', service, region: 'dc-b', epoch: 2 },
    { at: at(fault + 1_010), type: 'routed', service, region: 'dc-b', epoch: 2 },
  ]);
  const clean: AuditFindings = {
    ackedWrites: 100,
    lostAckedWrites: 0,
    duplicateWrites: 0,
    invariants: {},
    lostSample: [],
    lostInAsyncWindow: 0,
    lostAckedBeforeFaultMs: [],
    notes: [],
  };
  const report = buildReport({
    scenario: 'region-kill',
    expected: 'pass',
    expectation: { failsOver: SERVICES, unaffected: [] },
    fault: { kind: 'region_kill', target: 'dc-a', injectedAtMs: fault },
    records,
    events,
    audit: { login: clean, payments: clean, messaging: clean },
    checks: [],
    load: {
      source: 'builtin',
      backend: 'local',
      startedAtMs: start,
      endedAtMs: start + 30_000,
      warmupMs: 6_000,
      durationMs: 24_000,
      ratePerSec: 40,
      seed: 1,
      scheduled: 1800,
      sent: 1800,
      dropped: 0,
      maxInFlight: 12,
    },
    prometheus: { available: false, note: 'none in this test' },
  });
  return armFromDrillReport({
    name: 'control plane at the edge',
    controlPlane: 'edge',
    expected: 'recovers',
    why: 'the router outlives dc-a',
    report,
    records,
    reportPath: 'edge/report.json',
    loadAverage: { start: 6, end: 7 },
  });
}

describe('an arm expected to stay down', () => {
  it('passes by staying down, and says until when it was watched', () => {
    const arm = staysDownArm(kakao());
    expect(arm).toMatchObject({ expected: 'stays-down', observed: 'stays-down', met: true, reasons: [] });
    expect(arm.watchedUntil).toBe(at(fault + 30_000));
    expect(arm.watchedMs).toBe(30_000);
    expect(arm.services.payments.rtoMs).toBeNull();
    expect(arm.services.payments.okAfterFault).toBe(0);
    expect(arm.services.payments.afterFault).toBeGreaterThan(0);
    expect(arm.operatorSteps.length).toBeGreaterThan(2);
  });

  it('fails when a service answered after the kill, or something was promoted, or a check failed', () => {
    const served = staysDownArm(kakao({ records: deadAfterKill(3) }));
    expect(served.met).toBe(false);
    expect(served.observed).toBe('recovers');
    expect(served.reasons.join('\n')).toMatch(/payments answered 3 request\(s\)/);

    const promoted = staysDownArm(kakao({ promoted: { login: false, payments: true, messaging: false } }));
    expect(promoted.met).toBe(false);
    expect(promoted.reasons.join('\n')).toMatch(/payments was promoted although no control plane/);

    const lost = staysDownArm(
      kakao({
        checks: [
          {
            name: 'payments: every acknowledged transfer on the dc-b standby',
            ok: false,
            detail: '2 missing',
          },
        ],
      }),
    );
    expect(lost.met).toBe(false);
    expect(lost.reasons).toEqual(['payments: every acknowledged transfer on the dc-b standby: 2 missing']);
  });
});

describe('an arm expected to recover (the region-kill drill report)', () => {
  it('meets its expectation when the drill passed and every service recovered', () => {
    const arm = edgeReport(2_400);
    expect(arm).toMatchObject({ observed: 'recovers', met: true, report: 'edge/report.json' });
    expect(arm.services.payments.rtoMs).toBe(2_400);
    expect(arm.services.payments.failedOver).toBe(true);
  });

  it('does not when a service never came back', () => {
    const arm = edgeReport(null);
    expect(arm.observed).toBe('stays-down');
    expect(arm.met).toBe(false);
    expect(arm.reasons[0]).toBe('expected it to recover, it stayed down');
  });
});

describe('the comparison', () => {
  it('passes, and exits 0, only when every arm meets its own expectation', () => {
    const pass = judgeComparison('control-plane', [staysDownArm(kakao()), edgeReport(2_400)], window);
    expect(pass.verdict).toBe('pass');
    expect(pass.reasons).toEqual([]);
    expect(problemsOf(ComparisonReportSchema, JSON.parse(JSON.stringify(pass)))).toEqual([]);

    const fail = judgeComparison('control-plane', [staysDownArm(kakao()), edgeReport(null)], window);
    expect(fail.verdict).toBe('fail');
    expect(fail.reasons).toHaveLength(1);
    expect(fail.reasons[0]).toMatch(/^control plane at the edge: /);
  });

  it('renders the arms side by side, with the operator steps of the arm that stays down', () => {
    const md = renderComparisonMarkdown(
      judgeComparison('control-plane', [staysDownArm(kakao()), edgeReport(2_400)], window),
    );
    expect(md).toContain('|  | control plane inside dc-a | control plane at the edge |');
    expect(md).toContain('| expected | stays down | recovers |');
    expect(md).toContain('| payments: RTO | never | 2400 ms |');
    expect(md).toContain(`| watched until | ${at(fault + 30_000)} |`);
    expect(md).toMatch(/What an operator has to do[\s\S]*1\. Notice the outage from outside/);
  });
});

describe('an arm that cannot finish', () => {
  const plan = {
    name: 'payments async',
    dir: 'payments-async',
    controlPlane: 'edge' as const,
    expected: 'recovers' as const,
    why: 'faster, may lose the last instant',
  };

  it('is reported with its error and its lab logs, its lab stopped, and the next arm still runs', async () => {
    const calls: string[] = [];
    const lab = {
      env: {} as ArmLab['env'],
      keepLogs: async (dest: string) => {
        calls.push(`keep ${dest}`);
      },
      stop: async () => {
        calls.push('stop');
      },
    };
    const arm = await withArm(
      async () => lab,
      { controlPlane: 'edge' },
      { ...plan, outDir: '/out' },
      () => Promise.reject(new Error('setup: signup of drill user 3 timed out (HTTP 504)')),
    );
    expect(calls).toEqual(['keep /out/payments-async/lab-logs', 'stop']);
    expect(arm.met).toBe(false);
    expect(arm.error).toBe('setup: signup of drill user 3 timed out (HTTP 504)');
    expect(arm.labLogs).toBe('payments-async/lab-logs');
    expect(arm.reasons).toEqual(['did not finish: setup: signup of drill user 3 timed out (HTTP 504)']);

    const noLab = await withArm(
      () => Promise.reject(new Error('the lab did not come up')),
      { controlPlane: 'edge' },
      { ...plan, outDir: '/out' },
      () => Promise.reject(new Error('never called')),
    );
    expect(noLab.error).toBe('the lab did not come up');
    expect(noLab.labLogs).toBeUndefined();

    const report = judgeComparison('sync-async', [edgeReport(2_400), arm], window);
    expect(report.verdict).toBe('fail');
    expect(report.reasons[0]).toMatch(/^payments async: did not finish: setup/);
    expect(problemsOf(ComparisonReportSchema, JSON.parse(JSON.stringify(report)))).toEqual([]);
    const md = renderComparisonMarkdown(report);
    expect(md).toContain('| met | yes | NO (did not finish) |');
    expect(md).toContain('**Did not finish**: setup: signup of drill user 3 timed out (HTTP 504).');
  });
});
