// One drill, end to end: steady state → setup → load (warm-up, fault, recovery) → events → scenario
// checks → audit → Prometheus cross-check → report. Backend- and load-agnostic.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ControllerEvent,
  type DrillReport,
  describeTarget,
  directionOf,
  FAULTS,
  type Fault,
  type LinkFaultChange,
  type QuarantinedWrite,
  SERVICES,
  type ServiceName,
} from '@failover-lab/contracts';
import { AdminApi } from './admin';
import { API } from './api';
import type { AuditFindings } from './audit';
import { type AuditContext, auditAll, type PaymentsAdminAudit } from './audit/readers';
import type { Backend } from './backends/backend';
import { parseK6File } from './k6/parse';
import { RecordingClient } from './load/http';
import { k6Command, k6DroppedIterations, startK6 } from './load/k6-runner';
import { runOpenModel } from './load/open-model';
import { setUpDrill } from './load/setup';
import { workload } from './load/workload';
import { ProgressTally } from './progress';
import { prometheusCrossCheck } from './prometheus';
import { isAcknowledgedWrite, type RequestRecord } from './records';
import { buildReport } from './report/build';
import { writeReport } from './report/write';
import { SCENARIOS, type ScenarioName } from './scenarios';
import { waitForEvents } from './scenarios/common';
import type { AnyPlan, ScenarioContext } from './scenarios/scenario';
import { routerServices, waitForSteadyState } from './steady-state';
import { createStepRecorder } from './steps';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface DrillOptions {
  scenario: ScenarioName;
  /** load after the fault, ms */
  durationMs: number;
  /** load before the fault, ms */
  warmupMs: number;
  ratePerSec: number;
  seed: number;
  outDir: string;
  users: number;
  rooms: number;
  requestTimeoutMs: number;
  maxInFlight: number;
  /** async services may lose writes acknowledged this long before the fault (their accepted RPO) */
  asyncWindowMs: number;
  /** the built-in open-model generator, or k6 running loadtests/failover.js */
  load: 'builtin' | 'k6';
  /** after the report, return the platform to steady state (restore the faulted region) */
  resetAfter: boolean;
}

export const DEFAULT_OPTIONS: Omit<DrillOptions, 'scenario' | 'outDir'> = {
  durationMs: 24_000,
  warmupMs: 6_000,
  ratePerSec: 40,
  seed: 1,
  users: 8,
  rooms: 24,
  requestTimeoutMs: 5_000,
  maxInFlight: 200,
  asyncWindowMs: 1_000,
  resetAfter: true,
  load: 'builtin',
};

export interface DrillEnvironment {
  backend: Backend;
  routerUrl: string;
  prometheusUrl: string | null;
  /** for the router's admin API (and k6); never logged or reported */
  adminToken: string;
}

export interface DrillHooks {
  log?: (line: string) => void;
  progress?: (line: string) => void;
  /** runs after recovery, just before the audit reads back (the audit-catches-loss test deletes a row here) */
  beforeAudit?: (input: { records: RequestRecord[]; admin: AdminApi }) => Promise<void>;
}

export async function runDrill(
  options: DrillOptions,
  env: DrillEnvironment,
  hooks: DrillHooks = {},
): Promise<DrillReport> {
  const log = hooks.log ?? (() => {});
  const scenario = SCENARIOS[options.scenario];
  const admin = new AdminApi(env.routerUrl, env.backend.cells, env.adminToken);
  // Every link fault the scenario applies or heals is noted for the report's timeline.
  const linkFaults: LinkFaultChange[] = [];
  const backend: Backend = {
    ...env.backend,
    name: env.backend.name,
    cells: env.backend.cells,
    faults: {
      ...env.backend.faults,
      apply: async (fault) => {
        await env.backend.faults.apply(fault);
        if (FAULTS[fault.kind].scope === 'link') {
          linkFaults.push({
            at: new Date().toISOString(),
            kind: fault.kind,
            target: describeTarget(fault.target),
            direction: directionOf(fault),
            ...(fault.attributes ? { attributes: fault.attributes } : {}),
          });
        }
      },
      reset: (fault) => env.backend.faults.reset(fault),
      status: () => env.backend.faults.status(),
    },
  };
  const ctx: ScenarioContext = { backend, admin, log };

  await waitForSteadyState(admin, 60_000);
  const planAtMs = Date.now();
  const plan = await scenario.plan(ctx);
  const primariesAtPlan = await routerServices(admin);
  log(`${scenario.name}: ${scenario.summary}; target ${describeTarget(plan.fault.target)}`);

  const quiet = new RecordingClient(env.routerUrl, { timeoutMs: options.requestTimeoutMs });
  const records: RequestRecord[] = [];
  const tally = new ProgressTally();
  const loadClient = new RecordingClient(env.routerUrl, {
    timeoutMs: options.requestTimeoutMs,
    // as many connections as the open model lets be in flight: a request it sends is sent, never queued
    connections: options.maxInFlight,
    onRecord: (r) => {
      records.push(r);
      tally.add(r);
    },
  });
  try {
    const runTag = `r${Date.now().toString(36)}`;
    const setup = await setUpDrill(quiet, admin, {
      users: options.users,
      rooms: options.rooms,
      seed: options.seed,
      runTag,
    });
    const paymentsAuditBefore = await paymentsAudit(admin).catch(() => null);
    let faultMs = Number.POSITIVE_INFINITY;
    ctx.steps = createStepRecorder({
      backend,
      admin,
      audit: {
        client: quiet,
        admin,
        records,
        setup,
        asyncWindowMs: options.asyncWindowMs,
        paymentsAuditBefore,
        source: options.load,
      },
      firstFaultMs: () => faultMs,
      log,
    });
    log(
      `setup: ${setup.state.users.length} users, ${setup.state.users.length} accounts seeded, run ${runTag}`,
    );
    // A scenario's own preparation may move primaries on purpose (restore kills a region first):
    // moves before it are false failovers, moves it makes are not.
    const movedBeforePrepare = scenario.prepare
      ? await movedSince(admin, primariesAtPlan).catch(() => [] as string[])
      : [];
    await scenario.prepare?.(ctx, plan);
    const primariesAtLoad = scenario.prepare ? await routerServices(admin) : primariesAtPlan;

    // The load after the fault lasts durationMs from when the fault's injection completed: a fault that
    // takes long to inject (a restore rebuilds a whole region) is measured under load from start to end.
    let totalMs = options.warmupMs + options.durationMs;
    // While the fault is being injected the load goes on, however long that takes (else a restore
    // slower than the whole planned load would run its end unloaded, and show as one long stall).
    let injecting = false;
    let loadStartMs = Date.now();
    let phase = 'warm-up';
    let load: Promise<LoadSummary>;
    if (options.load === 'k6') {
      const k6 = await runK6Load(options, env, admin, totalMs, records);
      // No fault goes into a platform that carries no load: a k6 that dies at start ends the drill here.
      await k6.started.catch((err: Error) => {
        throw new Error(`the load did not start, no fault injected: ${err.message}`);
      });
      loadStartMs = Date.now();
      load = k6.done;
    } else {
      load = runOpenModel(workload(loadClient, setup.state, options.ratePerSec), {
        durationMs: () => (injecting ? Number.POSITIVE_INFINITY : totalMs),
        maxInFlight: options.maxInFlight,
        onProgress: (summary) => hooks.progress?.(tally.line(scenario.name, summary, phase)),
      });
    }

    // A load that dies during the warm-up must surface at `await load`, not crash the process meanwhile.
    load.catch(() => {});
    await sleep(options.warmupMs);
    // The plan's expectations hold only for the primaries it saw. A service that moved since then
    // moved with no fault at all (a false failover, e.g. probes timing out on a starved machine): the
    // drill still runs, and the verdict says so instead of "expected to fail over but did not".
    const movedBeforeFault = [
      ...movedBeforePrepare,
      ...(await movedSince(admin, primariesAtLoad).catch(() => [] as string[])),
    ];
    faultMs = Date.now();
    phase = 'fault';
    injecting = true;
    try {
      await scenario.inject(ctx, plan);
    } finally {
      injecting = false;
    }
    const injectedMs = Date.now();
    // (k6 was given its duration at start and cannot be extended)
    if (options.load === 'builtin')
      totalMs = Math.max(totalMs, injectedMs - loadStartMs + options.durationMs);
    log(
      `fault ${plan.fault.kind} on ${describeTarget(plan.fault.target)} injected (took ${injectedMs - faultMs} ms)`,
    );
    phase = 'after fault';
    await scenario.whileLoaded?.(ctx, plan, { faultMs, loadEndsAtMs: loadStartMs + totalMs });
    const summary = await load;
    const loadEndMs = Date.now();
    log(`load: ended after ${loadEndMs - loadStartMs} ms, ${summary.sent} request(s) sent`);

    // The audit reads from the new primaries: give the router time to serve everything again, and a
    // slow failover time to finish (on a busy machine one came after a short load had ended).
    await waitUntilServing(admin, 30_000).catch((err: Error) => log(`warning: ${err.message}`));
    await waitForEvents(ctx, 'routed', plan.expectation.failsOver, faultMs, Date.now() + 30_000);
    // from the plan on: a false failover during setup or warm-up must be in the report's events
    const events = await admin.events(new Date(Math.min(planAtMs, loadStartMs) - 1)).catch((err: Error) => {
      log(`warning: router events unavailable: ${err.message}`);
      return [] as ControllerEvent[];
    });
    const checks = (await scenario.verify?.(ctx, plan, { records, events, faultMs })) ?? [];
    checks.unshift({
      name: 'no failover before the fault',
      ok: movedBeforeFault.length === 0,
      detail:
        movedBeforeFault.length === 0
          ? 'every primary was where the plan saw it when the fault was injected'
          : `${movedBeforeFault.join('; ')} before the fault was injected: a failover with no fault (see the events before the fault)`,
    });

    await hooks.beforeAudit?.({ records, admin });
    const auditCtx: AuditContext = {
      client: quiet,
      admin,
      records,
      setup,
      faultMs,
      asyncWindowMs: options.asyncWindowMs,
      paymentsAuditBefore,
      source: options.load,
    };
    const audit: Record<ServiceName, AuditFindings> = await auditAll(auditCtx);
    log('audit: acknowledged writes read back (findings in the report)');
    const quarantined = await quarantinedSince(env.backend, loadStartMs, records, log);
    const prometheus = env.prometheusUrl
      ? await prometheusCrossCheck(env.prometheusUrl, { startMs: loadStartMs, endMs: loadEndMs, faultMs })
      : { available: false, note: 'no Prometheus URL for this backend' };

    const report = buildReport({
      scenario: scenario.name,
      expected: scenario.expected,
      expectation: plan.expectation,
      fault: {
        kind: plan.fault.kind,
        target: describeTarget(plan.fault.target),
        injectedAtMs: faultMs,
        ...(isLinkFault(plan.fault)
          ? { direction: directionOf(plan.fault), attributes: plan.fault.attributes }
          : {}),
      },
      linkFaults,
      steps: ctx.steps.steps,
      quarantined,
      records,
      events,
      audit,
      checks,
      load: {
        source: options.load,
        backend: env.backend.name,
        startedAtMs: loadStartMs,
        endedAtMs: loadEndMs,
        warmupMs: options.warmupMs,
        durationMs: totalMs - options.warmupMs,
        ratePerSec: options.ratePerSec,
        seed: options.seed,
        scheduled: summary.scheduled,
        sent: summary.sent,
        dropped: summary.dropped,
        maxInFlight: summary.maxInFlight,
      },
      prometheus,
      modes: Object.fromEntries(SERVICES.map((s) => [s, primariesAtPlan[s].mode])),
    });
    await writeReport(report, options.outDir, records);
    log(`report: written to ${options.outDir}`);
    if (options.resetAfter) {
      const resetStarted = Date.now();
      await scenario.reset(ctx, plan);
      log(`reset: steady state again after ${Date.now() - resetStarted} ms`);
    }
    return report;
  } finally {
    await Promise.all([quiet.close(), loadClient.close()]);
  }
}

interface LoadSummary {
  scheduled: number;
  sent: number;
  dropped: number;
  maxInFlight: number;
}

/**
 * k6 as the load: its own setup seeds its accounts through the payments primary; its JSON output
 * becomes the records once it exits. `started` settles when k6's scenarios send (its setup() eats
 * into nothing: the warm-up counts from there).
 */
async function runK6Load(
  options: DrillOptions,
  env: DrillEnvironment,
  admin: AdminApi,
  totalMs: number,
  records: RequestRecord[],
): Promise<{ started: Promise<void>; done: Promise<LoadSummary> }> {
  await mkdir(options.outDir, { recursive: true });
  const outFile = path.join(options.outDir, 'k6.jsonl');
  const command = k6Command(
    {
      script: path.join(REPO_ROOT, 'loadtests', 'failover.js'),
      outFile,
      routerUrl: env.routerUrl,
      ratePerSec: options.ratePerSec,
      durationMs: totalMs,
      users: options.users,
      paymentsAdminUrl: await paymentsAdminUrl(env.backend, admin),
    },
    env.adminToken,
  );
  const k6 = startK6(command, outFile);
  const done = (async () => {
    await k6.exited;
    const parsed = await parseK6File(outFile);
    records.push(...parsed.records);
    const dropped = await k6DroppedIterations(outFile);
    return {
      scheduled: parsed.records.length + dropped,
      sent: parsed.records.length,
      dropped,
      maxInFlight: 0,
    };
  })();
  done.catch(() => {});
  k6.started.catch(() => k6.kill());
  return { started: k6.started, done };
}

/** k6 seeds its accounts itself, so it needs the payments primary by URL (the lab's, never compose's). */
async function paymentsAdminUrl(backend: Backend, admin: AdminApi): Promise<string> {
  const url = backend.cells.cellUrl('payments', await admin.requirePrimaryRegion('payments'));
  if (!url)
    throw new Error(`--load k6 needs a payments cell URL, which the ${backend.name} backend has none of`);
  return url;
}

async function paymentsAudit(admin: AdminApi): Promise<PaymentsAdminAudit> {
  return admin.primaryCellJson<PaymentsAdminAudit>('payments', {
    method: 'GET',
    path: API.admin.paymentsAudit,
  });
}

async function waitUntilServing(admin: AdminApi, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const services = await routerServices(admin).catch(() => null);
    if (services && Object.values(services).every((s) => s.serving)) return;
    await sleep(250);
  }
  throw new Error(`the router did not serve every service within ${timeoutMs} ms`);
}

/** Rows restores quarantined during the drill, each marked if our client was told it succeeded. */
async function quarantinedSince(
  backend: Backend,
  sinceMs: number,
  records: RequestRecord[],
  log: (line: string) => void,
): Promise<QuarantinedWrite[] | undefined> {
  if (!backend.quarantined) return undefined;
  const rows = await backend.quarantined(sinceMs).catch((err: Error) => {
    log(`warning: quarantine files unreadable: ${err.message}`);
    return [];
  });
  const acked = new Set(records.filter(isAcknowledgedWrite).map((r) => `${r.service}/${r.writeId}`));
  return rows.map((r) => ({ ...r, acknowledged: acked.has(`${r.service}/${r.key}`) }));
}

function isLinkFault(fault: AnyPlan['fault']): fault is Fault {
  return (fault.kind as string) in FAULTS && FAULTS[(fault as Fault).kind].scope === 'link';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** "login moved dc-a → dc-b (epoch 1 → 2)" for every service whose primary changed since `before`. */
async function movedSince(
  admin: AdminApi,
  before: Awaited<ReturnType<typeof routerServices>>,
): Promise<string[]> {
  const now = await routerServices(admin);
  return SERVICES.filter((s) => now[s].primary !== before[s].primary || now[s].epoch !== before[s].epoch).map(
    (s) => `${s} moved ${before[s].primary} → ${now[s].primary} (epoch ${before[s].epoch} → ${now[s].epoch})`,
  );
}
