// `npm run drill -- control-plane`: the same region kill twice, with the control plane (router +
// failover controller, its persisted state, Prometheus) inside the region that dies — how the October
// 2022 data-center fire took a messenger's failover down with its primary site — and at the edge, as
// the design puts it. The first arm passes by staying down for the whole watch; the second by failing
// over like the ordinary region-kill drill (whose runner, report and audit it reuses as they are).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type ComparisonArm,
  type ComparisonReport,
  type Fault,
  otherRegion,
  type RegionName,
  SERVICES,
  type ServiceName,
} from '@failover-lab/contracts';
import { request } from 'undici';
import { AdminApi } from '../admin';
import { API } from '../api';
import { acknowledgedWrites } from '../audit';
import { mapLimit } from '../concurrency';
import { RecordingClient } from '../load/http';
import { runOpenModel } from '../load/open-model';
import { setUpDrill } from '../load/setup';
import { workload } from '../load/workload';
import { assertLoopbackUrl } from '../loopback';
import type { RequestRecord } from '../records';
import type { DrillEnvironment, DrillHooks, DrillOptions } from '../run';
import { waitForSteadyState } from '../steady-state';
import { type ArmLab, drillArm, load1m, type StartArm, withArm } from './arm-lab';
import { type ArmPlan, judgeComparison, staysDownArm } from './arms';
import { renderComparisonMarkdown } from './markdown';

/** The failed region of both arms: where every primary starts, and where the Kakao arm's control plane sits. */
export const FAILED_REGION: RegionName = 'dc-a';

export interface ControlPlaneOptions {
  /** the edge arm runs the region-kill drill with these (outDir: the comparison's, per arm below it) */
  drill: DrillOptions;
  /** how long the arm whose control plane died is watched after the kill, under the same load */
  watchMs: number;
}

/** What a person has to do when the control plane burned with the site (the lab's words in brackets). */
export function operatorSteps(failed: RegionName): string[] {
  const survivor = otherRegion(failed);
  return [
    `Notice the outage from outside: the dashboards and alerting (Prometheus) died with ${failed}, so nothing inside paged anyone.`,
    `Rebuild a router and failover controller outside ${failed} [start one at the edge]; its persisted state (primaries, epochs) burned with ${failed}, so reconstruct it from what the ${survivor} cells store (their epoch, their Postgres timeline).`,
    `Decide by hand that ${failed} is lost for good: nobody is left to fence it, so make sure it cannot come back as a primary (power, network, or a fence marker on its data) before promoting anything.`,
    `Promote every ${survivor} standby at an epoch above any ${failed} ever held, route each service there, and tell clients (the sessions and tokens login issued live in the promoted database).`,
    `Payments runs without a synchronous standby until a new one exists: decide whether to accept writes at RPO > 0 or refuse them, then rebuild ${failed} (or a third site) as the standby.`,
  ];
}

const KAKAO_ARM: ArmPlan = {
  name: `control plane inside ${FAILED_REGION}`,
  dir: 'kakao',
  controlPlane: FAILED_REGION,
  expected: 'stays-down',
  why: `the router, its state and Prometheus burned with ${FAILED_REGION}: nobody is left to detect, promote or route, so every service stays down until a person rebuilds the control plane`,
};

const EDGE_ARM: ArmPlan = {
  name: 'control plane at the edge',
  dir: 'edge',
  controlPlane: 'edge',
  expected: 'recovers',
  why: `the router and its state outlive ${FAILED_REGION}: it detects the loss, promotes ${otherRegion(FAILED_REGION)} and routes there by itself`,
};

export async function runControlPlaneComparison(
  options: ControlPlaneOptions,
  startArm: StartArm,
  hooks: DrillHooks = {},
): Promise<ComparisonReport> {
  const log = hooks.log ?? (() => {});
  const startedAtMs = Date.now();
  const outDir = options.drill.outDir;
  await mkdir(outDir, { recursive: true });
  const arms: ComparisonArm[] = [];

  log(`arm 1/2: control plane inside ${FAILED_REGION} (the Kakao placement)`);
  arms.push(
    await withArm(startArm, { controlPlane: FAILED_REGION }, { ...KAKAO_ARM, outDir, log }, (lab) =>
      kakaoArm(options, lab, hooks),
    ),
  );
  log(`arm 2/2: control plane at the edge`);
  arms.push(
    await withArm(startArm, { controlPlane: 'edge' }, { ...EDGE_ARM, outDir, log }, (lab) =>
      edgeArm(options, lab, hooks),
    ),
  );

  const report = judgeComparison('control-plane', arms, { startedAtMs, endedAtMs: Date.now() });
  await writeFile(path.join(outDir, 'comparison.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(outDir, 'comparison.md'), renderComparisonMarkdown(report));
  return report;
}

function edgeArm(options: ControlPlaneOptions, lab: ArmLab, hooks: DrillHooks): Promise<ComparisonArm> {
  return drillArm(lab, { ...options.drill, scenario: 'region-kill' }, hooks, EDGE_ARM);
}

/**
 * The arm with no control plane left: the same setup, load and kill as the region-kill drill, then a
 * watch under load. Nothing may answer, nothing may be promoted, and what was acknowledged before
 * the kill must still be on the surviving standbys.
 */
async function kakaoArm(
  options: ControlPlaneOptions,
  lab: ArmLab,
  hooks: DrillHooks,
): Promise<ComparisonArm> {
  const log = hooks.log ?? (() => {});
  const { env } = lab;
  const o = options.drill;
  const loadStart = load1m();
  const admin = new AdminApi(env.routerUrl, env.backend.cells, env.adminToken);
  const survivor = otherRegion(FAILED_REGION);
  await waitForSteadyState(admin, 60_000);

  const quiet = new RecordingClient(env.routerUrl, { timeoutMs: o.requestTimeoutMs });
  const records: RequestRecord[] = [];
  const loadClient = new RecordingClient(env.routerUrl, {
    timeoutMs: o.requestTimeoutMs,
    connections: o.maxInFlight,
    onRecord: (r) => records.push(r),
  });
  try {
    const setup = await setUpDrill(quiet, admin, {
      users: o.users,
      rooms: o.rooms,
      seed: o.seed,
      runTag: `r${Date.now().toString(36)}`,
    });
    const loadStartMs = Date.now();
    const totalMs = o.warmupMs + options.watchMs;
    const load = runOpenModel(workload(loadClient, setup.state, o.ratePerSec), {
      durationMs: totalMs,
      maxInFlight: o.maxInFlight,
    });
    load.catch(() => {});
    await sleep(o.warmupMs);

    const fault: Fault = { kind: 'region_kill', target: { region: FAILED_REGION } };
    const faultMs = Date.now();
    await env.backend.faults.apply(fault);
    const injectedMs = Date.now();
    log(
      `fault region_kill on ${FAILED_REGION} injected (took ${injectedMs - faultMs} ms); watching ${options.watchMs} ms`,
    );

    // While the load runs: does anything answer at the router's address, does anything get promoted?
    const promoted = Object.fromEntries(SERVICES.map((s) => [s, false])) as Record<ServiceName, boolean>;
    let routerAnswered = 0;
    let prometheusAnswered = 0;
    let polls = 0;
    const watchEnd = loadStartMs + totalMs;
    while (Date.now() < watchEnd) {
      polls++;
      if (await answers(`${env.routerUrl}/health/live`)) routerAnswered++;
      if (env.prometheusUrl && (await answers(`${env.prometheusUrl}/-/ready`))) prometheusAnswered++;
      await Promise.all(
        SERVICES.map(async (s) => {
          const state = await admin.cellState(s, survivor);
          if (state?.role === 'primary') promoted[s] = true;
        }),
      );
      await sleep(Math.min(1_000, Math.max(0, watchEnd - Date.now())));
    }
    await load;
    const watchedUntilMs = Date.now();

    const roles = await Promise.all(
      SERVICES.map(async (s) => `${s}: ${(await admin.cellState(s, survivor))?.role ?? 'no answer'}`),
    );
    const audit = await auditOnSurvivor(env, admin, records, survivor, loadStartMs, faultMs, o.asyncWindowMs);
    const checks = [
      {
        name: 'the router died with the region',
        ok: routerAnswered === 0,
        detail: `${routerAnswered} of ${polls} probes of ${env.routerUrl} answered during the watch`,
      },
      {
        name: 'the dashboards died with the region',
        ok: env.prometheusUrl === null || prometheusAnswered === 0,
        detail: `${prometheusAnswered} of ${polls} probes of Prometheus answered during the watch`,
      },
      {
        name: `${survivor} kept every standby`,
        ok: !Object.values(promoted).some(Boolean),
        detail: `${survivor} cells at the end of the watch: ${roles.join(', ')}`,
      },
      ...audit.checks,
    ];
    return staysDownArm({
      name: KAKAO_ARM.name,
      controlPlane: FAILED_REGION,
      why: KAKAO_ARM.why,
      fault: { kind: fault.kind, target: FAILED_REGION },
      faultMs,
      injectedMs,
      watchedUntilMs,
      records,
      audit: audit.services,
      promoted,
      checks,
      operatorSteps: operatorSteps(FAILED_REGION),
      loadAverage: { start: loadStart, end: load1m() },
    });
  } finally {
    await Promise.all([quiet.close(), loadClient.close()]);
  }
}

/**
 * The writes acknowledged before the kill, looked for on the surviving standbys (readable while in
 * recovery). Payments, key by key through the standby cell's admin read (it replicated synchronously:
 * every one must be there). Login and messaging cannot be read back per write without their service
 * (a sign-in is itself a write), so their rows are counted in the standby's Postgres: fewer rows than
 * acknowledged writes is a loss, beyond what the async window before the kill accepts.
 */
async function auditOnSurvivor(
  env: DrillEnvironment,
  admin: AdminApi,
  records: RequestRecord[],
  survivor: RegionName,
  sinceMs: number,
  faultMs: number,
  asyncWindowMs: number,
) {
  const services = {} as Record<
    ServiceName,
    { ackedWrites: number; lostAckedWrites: number; auditedOn: string }
  >;
  const checks: { name: string; ok: boolean; detail: string }[] = [];

  const transfers = acknowledgedWrites(records, 'payments');
  let missing = 0;
  const unreadable: string[] = [];
  await mapLimit([...transfers.keys()], 16, async (key) => {
    const answer = await admin.cellGet('payments', survivor, API.payments.transferByKey(key));
    if (answer.status === 404) missing++;
    else if (answer.status !== 200) unreadable.push(`${key} (${answer.status})`);
  });
  services.payments = {
    ackedWrites: transfers.size,
    lostAckedWrites: missing,
    auditedOn: `the ${survivor} standby, key by key`,
  };
  checks.push({
    name: `payments: every acknowledged transfer on the ${survivor} standby`,
    // synchronous replication: a transfer was acknowledged only once the standby had it
    ok: unreadable.length === 0 && missing === 0,
    detail:
      `${transfers.size} acknowledged transfer(s) read back, ${missing} missing` +
      (unreadable.length > 0
        ? `, ${unreadable.length} unreadable, e.g. ${unreadable.slice(0, 3).join(', ')}`
        : ''),
  });

  for (const service of ['login', 'messaging'] as const) {
    const acked = [...acknowledgedWrites(records, service).values()];
    const inWindow = acked.filter((r) => r.endMs >= faultMs - asyncWindowMs).length;
    let rows: number | null = null;
    try {
      rows = await env.backend.cells.countCellWrites(service, survivor, new Date(sinceMs - 1_000));
    } catch (err) {
      checks.push({
        name: `${service} rows readable on ${survivor}`,
        ok: false,
        detail: (err as Error).message,
      });
    }
    const short = rows === null ? 0 : Math.max(0, acked.length - rows);
    services[service] = {
      ackedWrites: acked.length,
      lostAckedWrites: short,
      auditedOn: `the ${survivor} standby (row count)`,
    };
    checks.push({
      name: `${service}: acknowledged writes on the ${survivor} standby`,
      // async: the last instant before the kill may be missing (its accepted RPO), nothing older
      ok: rows !== null && short <= inWindow,
      detail: `${acked.length} acknowledged, ${rows ?? '?'} row(s) written since the load started (${inWindow} acknowledged within ${asyncWindowMs} ms of the kill)`,
    });
  }
  return { services, checks };
}

/** Whether anything answers at `url` within a second (any status: a process is listening). */
async function answers(url: string): Promise<boolean> {
  assertLoopbackUrl(url);
  try {
    const response = await request(url, {
      headersTimeout: 1_000,
      bodyTimeout: 1_000,
      signal: AbortSignal.timeout(1_000),
    });
    await response.body.dump();
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
