import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  type ControllerEvent,
  DrillReportSchema,
  problemsOf,
  SERVICES,
  type ServiceName,
  type StepAudit,
} from '@failover-lab/contracts';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { AuditFindings } from '../src/audit';
import type { Op } from '../src/records';
import { buildReport, type ReportInput } from '../src/report/build';
import { renderMarkdown } from '../src/report/markdown';
import { renderScorecard } from '../src/report/scorecard';
import { writeReport } from '../src/report/write';
import { steadyWithOutage } from './fixtures';

const schema = JSON.parse(
  readFileSync(path.join(import.meta.dirname, '../../../test/contracts/report.schema.json'), 'utf8'),
);
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats.default(ajv);
const validate = ajv.compile(schema);

const start = Date.parse('2026-11-22T01:00:00.000Z');
const fault = start + 10_000;
const at = (ms: number) => new Date(ms).toISOString();

function cleanAudit(acked: number): AuditFindings {
  return {
    ackedWrites: acked,
    lostAckedWrites: 0,
    duplicateWrites: 0,
    invariants: {},
    lostSample: [],
    lostInAsyncWindow: 0,
    lostAckedBeforeFaultMs: [],
    notes: [],
  };
}

function regionKillInput(overrides: Partial<ReportInput> = {}, op: Op = 'signin'): ReportInput {
  // The outage fails sign-ins by default: a request the router may not resend, which a failover may
  // fail. The same outage on a retry-safe op fails the drill (the strict-verdict cases below).
  const records = SERVICES.flatMap((service) =>
    steadyWithOutage({
      service,
      op,
      fromMs: start,
      toMs: start + 30_000,
      everyMs: 50,
      downFrom: fault,
      downTo: fault + 2_400,
    }),
  );
  const events: ControllerEvent[] = SERVICES.flatMap((service) => [
    { at: at(fault + 700), type: 'confirmed_down', service, region: 'dc-a', epoch: 1 },
    { at: at(fault + 720), type: 'promote_started', service, region: 'dc-b', epoch: 2 },
    { at: at(fault + 1_000), type: 'promoted', service, region: 'dc-b', epoch: 2 },
    { at: at(fault + 1_010), type: 'routed', service, region: 'dc-b', epoch: 2 },
  ]);
  const audit = Object.fromEntries(SERVICES.map((s) => [s, cleanAudit(100)])) as Record<
    ServiceName,
    AuditFindings
  >;
  audit.payments.invariants = {
    moneyConserved: true,
    noNegativeBalance: true,
    everyAckedTransferAppliedOnce: true,
  };
  return {
    scenario: 'region-kill',
    expected: 'pass: every service fails over',
    expectation: { failsOver: SERVICES, unaffected: [] },
    fault: { kind: 'region_kill', target: 'dc-a', injectedAtMs: fault },
    records,
    events,
    audit,
    checks: [],
    load: {
      source: 'builtin',
      backend: 'local',
      startedAtMs: start,
      endedAtMs: start + 30_000,
      warmupMs: 10_000,
      durationMs: 20_000,
      ratePerSec: 60,
      seed: 1,
      scheduled: 1800,
      sent: 1800,
      dropped: 0,
      maxInFlight: 12,
    },
    prometheus: { available: false, note: 'no Prometheus in this test' },
    ...overrides,
  };
}

describe('buildReport', () => {
  it('a clean region kill passes and report.json follows the contract schema', () => {
    const report = buildReport(regionKillInput());
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('pass');
    expect(report.services.payments.rtoMs).toBe(2_400);
    expect(report.phases.payments).toEqual({ detectMs: 700, decideMs: 20, promoteMs: 280, routeMs: 10 });
    expect(validate(JSON.parse(JSON.stringify(report))), JSON.stringify(validate.errors)).toBe(true);
    expect(problemsOf(DrillReportSchema, JSON.parse(JSON.stringify(report)))).toEqual([]);
  });

  it('a service that ran async (as the router said) may lose its async window, and the report says how it replicated', () => {
    const input = regionKillInput({ modes: { payments: 'async' } });
    input.audit.payments = {
      ...input.audit.payments,
      lostAckedWrites: 1,
      lostInAsyncWindow: 1,
      lostSample: ['k-1'],
      lostAckedBeforeFaultMs: [120],
    };
    const report = buildReport(input);
    expect(report.services.payments.replication).toBe('async');
    expect(report.services.payments.rpoLostWrites).toBe(1);
    expect(report.verdict).toBe('pass');
    expect(validate(JSON.parse(JSON.stringify(report))), JSON.stringify(validate.errors)).toBe(true);
    // the same loss from payments replicating synchronously (the contract's mode) is a bug
    const { modes: _modes, ...asContract } = input;
    expect(buildReport(asContract).verdict).toBe('fail');
  });

  it('fails with a reason for a lost payment, a broken invariant, a missing failover, a failed check', () => {
    const input = regionKillInput();
    input.audit.payments = {
      ...input.audit.payments,
      lostAckedWrites: 1,
      lostSample: ['k-7'],
      invariants: { moneyConserved: false },
    };
    input.events = input.events.filter((e) => e.service !== 'login');
    input.checks = [{ name: 'split-brain', ok: false, detail: 'dc-a accepted 2 writes after promotion' }];
    const report = buildReport(input);
    expect(report.verdict).toBe('fail');
    expect(report.reasons.join('\n')).toMatch(/payments lost 1 acknowledged write.*k-7/);
    expect(report.reasons.join('\n')).toMatch(/payments invariant broken: moneyConserved/);
    expect(report.reasons.join('\n')).toMatch(/login was expected to fail over/);
    expect(report.reasons.join('\n')).toMatch(/split-brain: dc-a accepted 2 writes/);
    expect(validate(JSON.parse(JSON.stringify(report)))).toBe(true);
  });

  it('a chain of faults: a step whose audit lost an acknowledged payment fails the drill even if the final audit is clean', () => {
    const audited = (lost: string[]): StepAudit => ({
      audited: true,
      ackedWrites: 40,
      lostAckedWrites: lost.length,
      lostInAsyncWindow: 0,
      duplicateWrites: 0,
      lostSample: lost,
      notes: [],
    });
    const notRead = { ...audited([]), audited: false, notes: ['no primary serving at this step'] };
    const step = (name: string, kind: 'region_freeze' | 'component_kill' | 'region_restore', ms: number) => ({
      name,
      fault: { kind, target: 'dc-b', injectedAt: at(fault + ms) },
      settledAt: at(fault + ms + 500),
      phases: {},
      checks: [] as { name: string; ok: boolean; detail: string }[],
      audit: { login: audited([]), payments: audited([]), messaging: audited([]) },
    });
    const kill = { ...step("kill dc-b's payments Postgres", 'component_kill', 3_000) };
    kill.audit = { ...kill.audit, payments: notRead };
    const restore = step('restore dc-b', 'region_restore', 6_000);
    restore.audit = { ...restore.audit, payments: audited(['k-3', 'k-9']) };
    restore.checks = [
      { name: 'payments still primary in dc-b at its epoch', ok: false, detail: 'dc-a at 2' },
    ];
    const clean = buildReport({
      ...regionKillInput(),
      steps: [step('freeze dc-a', 'region_freeze', 0), kill],
    });
    expect(clean.reasons).toEqual([]);
    expect(clean.steps).toHaveLength(2);
    const report = buildReport({
      ...regionKillInput(),
      steps: [step('freeze dc-a', 'region_freeze', 0), kill, restore],
    });
    expect(report.verdict).toBe('fail');
    expect(report.reasons).toEqual([
      'step 3 (restore dc-b): payments lost 2 acknowledged write(s), e.g. k-3, k-9',
      'step 3 (restore dc-b): payments still primary in dc-b at its epoch: dc-a at 2',
    ]);
    expect(validate(JSON.parse(JSON.stringify(report))), JSON.stringify(validate.errors)).toBe(true);
    expect(problemsOf(DrillReportSchema, JSON.parse(JSON.stringify(report)))).toEqual([]);
    expect(renderMarkdown(report)).toMatch(/3\. \*\*restore dc-b\*\*.*payments 2 lost of 40/);
  });

  it('an acknowledged write found only in a quarantine file is named as such; quarantined rows are listed', () => {
    const input = regionKillInput();
    input.audit.payments = {
      ...input.audit.payments,
      lostAckedWrites: 1,
      lostSample: ['k-5'],
      lostIds: ['k-5'],
    };
    const file = '/lab/quarantine/payments-dc-a-1.jsonl';
    input.quarantined = [
      { service: 'payments', table: 'transfers', key: 'k-5', file, acknowledged: true },
      { service: 'payments', table: 'transfers', key: 'k-never-acked', file, acknowledged: false },
    ];
    const report = buildReport(input);
    expect(report.verdict).toBe('fail');
    expect(report.reasons[0]).toBe(
      `payments: 1 acknowledged write(s) exist only in quarantine (${file}), e.g. k-5`,
    );
    expect(report.quarantined).toHaveLength(2);
    expect(validate(JSON.parse(JSON.stringify(report))), JSON.stringify(validate.errors)).toBe(true);
    expect(problemsOf(DrillReportSchema, JSON.parse(JSON.stringify(report)))).toEqual([]);
    expect(renderMarkdown(report)).toContain(
      `- payments transfers k-5 (acknowledged to the client): ${file}`,
    );
    // a quarantined row nobody was told about fails nothing
    const clean = regionKillInput();
    clean.quarantined = [input.quarantined[1]!];
    expect(buildReport(clean).verdict).toBe('pass');
  });

  it('a claim (the router re-promoting its own primary at the same epoch) is not a failover', () => {
    const input = regionKillInput({ expectation: { failsOver: ['payments'], unaffected: [] } });
    input.events = input.events.map((e) =>
      e.service !== 'payments' && e.type === 'promoted' ? { ...e, detail: 'claim; promoteMs=12' } : e,
    );
    const report = buildReport(input);
    expect([report.services.payments.failedOver, report.services.login.failedOver]).toEqual([true, false]);
  });

  it('a flapping link: one failover is allowed (mayFailOver), and every link fault change is on the timeline', () => {
    const linkFault = { kind: 'link_partition' as const, target: 'edge→dc-a', direction: 'both' as const };
    const input = regionKillInput({
      scenario: 'flapping',
      expectation: { failsOver: [], mayFailOver: SERVICES, unaffected: [] },
      fault: { ...linkFault, injectedAtMs: fault },
      linkFaults: [
        { ...linkFault, at: at(fault) },
        { kind: 'link_heal', target: 'edge→dc-a', direction: 'both', at: at(fault + 700) },
      ],
    });
    const report = buildReport(input);
    expect(report.verdict).toBe('pass');
    expect(report.fault.direction).toBe('both');
    expect(report.linkFaults?.map((c) => c.kind)).toEqual(['link_partition', 'link_heal']);
    expect(validate(JSON.parse(JSON.stringify(report))), JSON.stringify(validate.errors)).toBe(true);
    expect(problemsOf(DrillReportSchema, JSON.parse(JSON.stringify(report)))).toEqual([]);
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('- +0 ms `link_partition` edge→dc-a both');
    expect(markdown).toContain('- +700 ms `link_heal` edge→dc-a both');
    // without mayFailOver the same failovers fail the drill
    const strict = buildReport({ ...input, expectation: { failsOver: [], unaffected: [] } });
    expect(strict.reasons.join('\n')).toMatch(/payments failed over although the fault should not move it/);
  });

  it('tolerates async messaging losses only inside the RPO window of a failover', () => {
    const input = regionKillInput();
    input.audit.messaging = {
      ...input.audit.messaging,
      lostAckedWrites: 2,
      lostInAsyncWindow: 2,
      lostSample: ['m1', 'm2'],
      lostAckedBeforeFaultMs: [300, 40],
    };
    const report = buildReport(input);
    expect(report.verdict).toBe('pass');
    // counted as RPO and shown, never silently
    expect(report.services.messaging.rpoLostWrites).toBe(2);
    const md = renderMarkdown(report);
    expect(md).toContain('## Data lost (RPO)');
    expect(md).toMatch(/messaging: 2 acknowledged write\(s\) lost.*async/);
    expect(md).toContain('| 2 (RPO) |');
    expect(renderScorecard(report, '/tmp/x')).toMatch(/rpo messaging: 2 acknowledged write\(s\) lost/);
    input.audit.messaging = { ...input.audit.messaging, lostAckedWrites: 3, lostInAsyncWindow: 2 };
    expect(buildReport(input).verdict).toBe('fail');
  });

  it('a failed retry-safe request fails the drill, unless the scenario says why that service may fail them', () => {
    // the same 2.4 s outage, on balance reads (the router holds or resends them through a failover)
    const input = regionKillInput({}, 'balance');
    const report = buildReport(input);
    expect(report.verdict).toBe('fail');
    expect(report.reasons).toContain(
      'payments: 48 retry-safe request(s) failed (balance ROUTER_ERR_NO_PRIMARY ×48); the router holds or ' +
        'resends these through a failover, so none may fail',
    );
    expect(report.reasons.filter((r) => r.includes('retry-safe'))).toHaveLength(3);
    // a scenario that documents why a service's retry-safe requests may fail tolerates those only
    const explained = buildReport({
      ...input,
      expectation: {
        ...input.expectation,
        retrySafeFailuresExpected: { payments: 'restarting in place', login: 'restarting in place' },
      },
    });
    expect(explained.reasons).toEqual([
      'messaging: 48 retry-safe request(s) failed (balance ROUTER_ERR_NO_PRIMARY ×48); the router holds or ' +
        'resends these through a failover, so none may fail',
    ]);
    // writes the router may resend count too; a sign-up (no key to answer a repeat from) does not
    const mixed = regionKillInput();
    mixed.records = mixed.records.map((r, i) =>
      r.service === 'payments' && !r.ok && i % 2 === 0 ? { ...r, op: 'transfer' } : r,
    );
    expect(buildReport(mixed).reasons.join('\n')).toMatch(
      /^payments: 24 retry-safe request\(s\) failed \(transfer ROUTER_ERR_NO_PRIMARY ×24\)/,
    );
    // an unaffected service's failures are reported once, as before
    const unaffected = buildReport({
      ...input,
      expectation: { failsOver: ['login', 'messaging'], unaffected: ['payments'] },
    });
    expect(unaffected.reasons.filter((r) => r.startsWith('payments'))).toEqual([
      'payments failed over although the fault should not move it',
      'payments should be unaffected but 48 request(s) failed (balance ROUTER_ERR_NO_PRIMARY ×48)',
    ]);
  });

  it('a service that never recovers fails the drill', () => {
    const input = regionKillInput();
    input.records = input.records.map((r) =>
      r.service === 'messaging' && r.startMs >= fault ? { ...r, ok: false, status: 503 } : r,
    );
    const report = buildReport(input);
    expect(report.services.messaging.rtoMs).toBeNull();
    expect(report.reasons).toContain(
      'messaging never recovered: requests still failed at the end of the load',
    );
  });
});

describe('rendering', () => {
  it('writes report.json/md/html; the html is self-contained with one chart per service and the events marked', async () => {
    const report = buildReport(regionKillInput());
    const dir = await mkdtemp(path.join(os.tmpdir(), 'drill-report-'));
    try {
      await writeReport(report, dir);
      const html = await readFile(path.join(dir, 'report.html'), 'utf8');
      const md = await readFile(path.join(dir, 'report.md'), 'utf8');
      const json = JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8'));
      expect(validate(json)).toBe(true);
      expect(html.match(/<svg /g)).toHaveLength(3);
      expect(html).not.toMatch(/<script|<link|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
      expect(html).toContain('promoted dc-b epoch 2');
      expect(html).toContain('>fault <small>at the fault</small>');
      expect(md).toContain('| payments | 600 | 48 | 2400 ms |');
      expect(md).toContain('# Drill region-kill: PASS');
      const card = renderScorecard(report, dir);
      expect(card).toMatch(/drill region-kill: PASS/);
      expect(card).toMatch(/payments\s+600\s+48\s+2400 ms/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('escapes what it renders', async () => {
    const report = buildReport(
      regionKillInput({ checks: [{ name: '<img src=x>', ok: true, detail: '"&"' }] }),
    );
    const { renderHtml } = await import('../src/report/html');
    const html = renderHtml(report);
    expect(html).not.toContain('<img src=x>');
    expect(html).toContain('&#60;img src=x&#62;');
  });
});
