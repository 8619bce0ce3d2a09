// `npm run drill -- active-active`: the same load and the same region kill on messaging active-passive,
// then active-active, side by side (docs/active-active.md). Each arm is a whole region-kill drill
// (its own report, its own verdict) on a lab of that topology, plus what the comparison needs on top:
// replication lag sampled under load, write latency, what the lost region's unreplicated tail became
// once it rejoined, and (active-active) the cross-region duplicates merged and whether every room reads
// in the same order in both regions. The comparison passes when every arm meets its own expectation.
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import {
  otherRegion,
  REGIONS,
  type RegionName,
  type ServiceName,
  type ServiceTopology,
} from '@failover-lab/contracts';
import { acknowledgedWrites } from '../audit';
import type { RequestRecord } from '../records';
import { type DrillEnvironment, type DrillOptions, runDrill } from '../run';

export type Rows = Record<string, unknown>[];

/** What one arm's lab gives the comparison (the CLI starts and stops it). */
export interface ArmLab {
  env: DrillEnvironment;
  /** a query on a cell's Postgres as the app role (which has pg_monitor) */
  query: (service: ServiceName, region: RegionName, sql: string, params?: unknown[]) => Promise<Rows>;
  /** rows restore exported from a stale primary before rebuilding it (active-passive's lost tail) */
  quarantinedRows: () => Promise<number>;
}

export interface LagSummary {
  samples: number;
  p50Ms: number | null;
  maxMs: number | null;
  maxBytes: number | null;
}

export interface ArmResult {
  topology: ServiceTopology;
  expected: string;
  verdict: 'pass' | 'fail';
  reasons: string[];
  reportDir: string;
  drillVerdict: 'pass' | 'fail';
  killed: RegionName;
  /** the machine's 1-minute load average when the arm's load started and when it ended */
  loadAverage: { start: number; end: number };
  messaging: {
    requests: number;
    failed: number;
    rtoMs: number | null;
    maxStallMs: number;
    promoted: boolean;
    ackedWrites: number;
    /** acknowledged messages the surviving region lacked while the other region was lost */
    lostWhileDown: number;
    /** …and still lacked once the lost region was back and replication had caught up */
    missingAfterRejoin: number;
    quarantinedRows: number;
    writeP50Ms: number | null;
    writeP99Ms: number | null;
    lag: LagSummary;
    /** active-active only */
    conflicts: { merged: number; sameContent: number; visibleDuplicates: number; markersBoth: number } | null;
    /** active-active only: rooms whose order (by HLC) reads the same in both regions */
    order: { rooms: number; identical: number } | null;
  };
  /** the other services, for context: they are active-passive in both arms */
  others: Record<string, { rtoMs: number | null; maxStallMs: number; failed: number }>;
}

export interface ComparisonReport {
  scenario: 'active-active';
  verdict: 'pass' | 'fail';
  startedAt: string;
  endedAt: string;
  load: { ratePerSec: number; warmupMs: number; durationMs: number; seed: number };
  arms: ArmResult[];
  tradeOff: string;
}

export const ARM_EXPECTATIONS: Record<ServiceTopology, string> = {
  'active-passive':
    'pass — the region-kill drill passes; messaging fails over by promoting its standby; what the lost primary ' +
    'acknowledged and had not streamed is lost (quarantined when the region is restored), within the async RPO',
  'active-active':
    'pass — the region-kill drill passes with no promotion for messaging (its users move to the other region); ' +
    'once the lost region rejoins, every acknowledged message is in both regions (its unreplicated tail replayed), ' +
    'duplicates of one client id are merged to one, and every room reads in the same order in both regions',
};

const LAG_SAMPLE_MS = 500;

export async function runActiveActiveComparison(
  options: Omit<DrillOptions, 'scenario' | 'outDir' | 'resetAfter'>,
  outDir: string,
  withLab: (topology: ServiceTopology, run: (lab: ArmLab) => Promise<ArmResult>) => Promise<ArmResult>,
  log: (line: string) => void,
): Promise<ComparisonReport> {
  const startedAt = new Date();
  const arms: ArmResult[] = [];
  for (const topology of ['active-passive', 'active-active'] as const) {
    log(`── arm ${topology}: lab up, region-kill under load, rejoin ──`);
    arms.push(await withLab(topology, (lab) => runArm(topology, lab, options, outDir, log)));
    log(
      `── arm ${topology}: ${arms.at(-1)!.verdict}${arms
        .at(-1)!
        .reasons.map((r) => `\n   ${r}`)
        .join('')}`,
    );
  }
  const report: ComparisonReport = {
    scenario: 'active-active',
    verdict: arms.every((a) => a.verdict === 'pass') ? 'pass' : 'fail',
    startedAt: startedAt.toISOString(),
    endedAt: new Date().toISOString(),
    load: {
      ratePerSec: options.ratePerSec,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      seed: options.seed,
    },
    arms,
    tradeOff: tradeOff(arms),
  };
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(outDir, 'report.md'), renderComparison(report));
  return report;
}

async function runArm(
  topology: ServiceTopology,
  lab: ArmLab,
  options: Omit<DrillOptions, 'scenario' | 'outDir' | 'resetAfter'>,
  outDir: string,
  log: (line: string) => void,
): Promise<ArmResult> {
  const reportDir = path.join(outDir, topology);
  const lagSamples: { ms: number | null; bytes: number | null }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      for (const region of REGIONS) {
        const rows = await lab
          .query(
            'messaging',
            region,
            `SELECT (extract(epoch FROM replay_lag) * 1000)::float8 AS ms,
                    pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS bytes
               FROM pg_stat_replication`,
          )
          .catch(() => [] as Rows);
        for (const row of rows)
          lagSamples.push({
            ms: row.ms === null ? null : Number(row.ms),
            bytes: row.bytes === null ? null : Number(row.bytes),
          });
      }
      await sleep(LAG_SAMPLE_MS);
    }
  })();
  let records: RequestRecord[] = [];
  const loadStart = loadavg()[0]!;
  let loadEnd = loadStart;
  const report = await runDrill(
    { ...options, scenario: 'region-kill', outDir: reportDir, resetAfter: true },
    lab.env,
    {
      log,
      beforeAudit: async (input) => {
        records = input.records;
        loadEnd = loadavg()[0]!;
        sampling = false; // lag "under load": the load has ended here
      },
    },
  ).finally(() => {
    sampling = false;
  });
  await sampler;

  const killed = report.fault.target.split('/')[0] as RegionName;
  const survivor = otherRegion(killed);
  const acked = [...acknowledgedWrites(records, 'messaging').keys()];
  // The lost region is back (the drill's reset restored it): wait until both regions agree, then look.
  if (topology === 'active-active') await converged(lab, acked, log);
  const missing = async (region: RegionName) => {
    if (acked.length === 0) return 0;
    const rows = await lab.query(
      'messaging',
      region,
      'SELECT count(DISTINCT id)::int AS n FROM messages WHERE id = ANY($1::uuid[])',
      [acked],
    );
    return acked.length - Number(rows[0]?.n ?? 0);
  };
  const missingAfterRejoin = Math.max(
    await missing(survivor),
    topology === 'active-active' ? await missing(killed) : 0,
  );
  const m = report.services.messaging;
  const writes = records
    .filter((r) => r.service === 'messaging' && r.op === 'send' && r.ok)
    .map((r) => r.endMs - r.startMs);
  const lagMs = lagSamples.map((s) => s.ms).filter((v): v is number => v !== null);
  const lagBytes = lagSamples.map((s) => s.bytes).filter((v): v is number => v !== null);
  const conflicts = topology === 'active-active' ? await conflictCounts(lab) : null;
  const order = topology === 'active-active' ? await orderAgreement(lab) : null;
  const result: ArmResult = {
    topology,
    expected: ARM_EXPECTATIONS[topology],
    verdict: 'pass',
    reasons: [],
    reportDir,
    drillVerdict: report.verdict,
    killed,
    loadAverage: { start: round(loadStart), end: round(loadEnd) },
    messaging: {
      requests: m.requests,
      failed: m.failed,
      rtoMs: m.rtoMs,
      maxStallMs: m.maxStallMs,
      promoted: m.failedOver,
      ackedWrites: m.ackedWrites,
      lostWhileDown: m.lostAckedWrites,
      missingAfterRejoin,
      quarantinedRows: await lab.quarantinedRows().catch(() => 0),
      writeP50Ms: percentile(writes, 0.5),
      writeP99Ms: percentile(writes, 0.99),
      lag: {
        samples: lagSamples.length,
        p50Ms: percentile(lagMs, 0.5),
        maxMs: lagMs.length ? round(Math.max(...lagMs)) : null,
        maxBytes: lagBytes.length ? Math.max(...lagBytes) : null,
      },
      conflicts,
      order,
    },
    others: Object.fromEntries(
      (['login', 'payments'] as const).map((s) => [
        s,
        {
          rtoMs: report.services[s].rtoMs,
          maxStallMs: report.services[s].maxStallMs,
          failed: report.services[s].failed,
        },
      ]),
    ),
  };
  result.reasons = armReasons(result, report.reasons);
  result.verdict = result.reasons.length === 0 ? 'pass' : 'fail';
  return result;
}

/** Why an arm missed its expectation (empty: it met it). Pure. */
export function armReasons(arm: ArmResult, drillReasons: string[]): string[] {
  const reasons = drillReasons.map((r) => `region-kill drill: ${r}`);
  const m = arm.messaging;
  if (arm.topology === 'active-passive') {
    if (!m.promoted) reasons.push('messaging was not failed over by a promotion');
    return reasons;
  }
  if (m.promoted) reasons.push('messaging promoted something although it is active-active');
  if (m.missingAfterRejoin > 0)
    reasons.push(
      `${m.missingAfterRejoin} acknowledged message(s) still missing after the lost region rejoined`,
    );
  if (m.conflicts && m.conflicts.visibleDuplicates > 0)
    reasons.push(`${m.conflicts.visibleDuplicates} client id(s) still stored twice after the merge`);
  if (m.order && m.order.identical !== m.order.rooms)
    reasons.push(`${m.order.rooms - m.order.identical} room(s) read in a different order in the two regions`);
  return reasons;
}

const CONVERGE_TIMEOUT_MS = 60_000;

/** Both regions hold every acknowledged message, and the merge of duplicates has run (AA only). */
async function converged(lab: ArmLab, acked: string[], log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + CONVERGE_TIMEOUT_MS;
  const started = Date.now();
  for (;;) {
    const counts = await Promise.all(
      REGIONS.map((region) =>
        lab
          .query(
            'messaging',
            region,
            `SELECT count(DISTINCT id)::int AS ids, count(*)::int AS rows,
                    (SELECT count(*)::int FROM messages WHERE id = ANY($1::uuid[])) AS acked
               FROM messages`,
            [acked],
          )
          .then((rows) => rows[0] as { ids: number; rows: number; acked: number })
          .catch(() => null),
      ),
    );
    const [a, b] = counts;
    if (a && b && a.ids === b.ids && a.rows === a.ids && b.rows === b.ids && a.rows === b.rows) {
      log(
        `active-active: both regions hold the same ${a.ids} message(s) ${Date.now() - started} ms after the reset`,
      );
      return;
    }
    if (Date.now() > deadline) {
      log(`active-active: regions not converged after ${CONVERGE_TIMEOUT_MS} ms: ${JSON.stringify(counts)}`);
      return;
    }
    await sleep(500);
  }
}

async function conflictCounts(lab: ArmLab) {
  let merged = 0;
  let sameContent = 0;
  let visibleDuplicates = 0;
  let markersBoth = 0;
  for (const region of REGIONS) {
    const [k] = await lab.query(
      'messaging',
      region,
      'SELECT count(*)::int AS n FROM read_markers_dc_a a JOIN read_markers_dc_b b USING (room, reader)',
    );
    markersBoth = Math.max(markersBoth, Number(k?.n ?? 0));
    const [c] = await lab.query(
      'messaging',
      region,
      'SELECT count(*)::int AS n, count(*) FILTER (WHERE same)::int AS same FROM message_conflicts',
    );
    merged += Number(c?.n ?? 0);
    sameContent += Number(c?.same ?? 0);
    const [d] = await lab.query(
      'messaging',
      region,
      'SELECT count(*)::int AS n FROM (SELECT id FROM messages GROUP BY id HAVING count(*) > 1) d',
    );
    visibleDuplicates = Math.max(visibleDuplicates, Number(d?.n ?? 0));
  }
  return { merged, sameContent, visibleDuplicates, markersBoth };
}

async function orderAgreement(lab: ArmLab) {
  const sql = `SELECT room, md5(string_agg(id::text, ',' ORDER BY seq)) AS h FROM messages GROUP BY room`;
  const [a, b] = await Promise.all(REGIONS.map((region) => lab.query('messaging', region, sql)));
  const other = new Map((b ?? []).map((row) => [String(row.room), String(row.h)]));
  const rooms = new Set([...(a ?? []).map((r) => String(r.room)), ...other.keys()]);
  const identical = (a ?? []).filter((row) => other.get(String(row.room)) === String(row.h)).length;
  return { rooms: rooms.size, identical };
}

/** The trade-off in two or three sentences, from this run's numbers. */
export function tradeOff(arms: ArmResult[]): string {
  const ap = arms.find((a) => a.topology === 'active-passive')?.messaging;
  const aa = arms.find((a) => a.topology === 'active-active')?.messaging;
  if (!ap || !aa) return 'one arm did not run: no comparison';
  const ms = (v: number | null) => (v === null ? 'n/a' : `${Math.round(v)} ms`);
  return [
    `Losing a region cost active-passive messaging a promotion: RTO ${ms(ap.rtoMs)}, longest stall ${ms(ap.maxStallMs)}, ` +
      `${ap.lostWhileDown} acknowledged message(s) lost with the old primary (${ap.missingAfterRejoin} still missing after it was rebuilt, ${ap.quarantinedRows} row(s) quarantined); ` +
      `active-active promoted nothing: RTO ${ms(aa.rtoMs)}, longest stall ${ms(aa.maxStallMs)}, and its ${aa.lostWhileDown} unreplicated message(s) ` +
      `came back when the region rejoined (${aa.missingAfterRejoin} missing after).`,
    `The price is paid all the time and at the merge: logical replication lag p50 ${ms(aa.lag.p50Ms)} (max ${ms(aa.lag.maxMs)}) ` +
      `against physical ${ms(ap.lag.p50Ms)} (max ${ms(ap.lag.maxMs)}), write latency p50/p99 ${ms(aa.writeP50Ms)}/${ms(aa.writeP99Ms)} ` +
      `against ${ms(ap.writeP50Ms)}/${ms(ap.writeP99Ms)}, and ${aa.conflicts?.merged ?? 0} client id(s) written in both regions that had to be merged ` +
      `(lower HLC kept; ${aa.conflicts?.sameContent ?? 0} with the same content).`,
    'Active-active buys availability for writes that commute (append-only messages with client ids); anything that must not be ' +
      'written twice or in two places at once (money) stays active-passive.',
  ].join(' ');
}

export function renderComparison(r: ComparisonReport): string {
  const [ap, aa] = [
    r.arms.find((a) => a.topology === 'active-passive'),
    r.arms.find((a) => a.topology === 'active-active'),
  ];
  const cell = (arm: ArmResult | undefined, f: (a: ArmResult) => string) => (arm ? f(arm) : '—');
  const ms = (v: number | null) => (v === null ? '—' : `${Math.round(v)} ms`);
  const rows: [string, (a: ArmResult) => string][] = [
    ['verdict (own expectation)', (a) => a.verdict],
    ['region killed', (a) => a.killed],
    ['load average (1 min) at start → end of load', (a) => `${a.loadAverage.start} → ${a.loadAverage.end}`],
    ['messaging promoted', (a) => (a.messaging.promoted ? 'yes' : 'no')],
    ['messaging RTO', (a) => ms(a.messaging.rtoMs)],
    ['messaging longest stall', (a) => ms(a.messaging.maxStallMs)],
    ['messaging failed requests', (a) => `${a.messaging.failed} of ${a.messaging.requests}`],
    ['acknowledged messages', (a) => String(a.messaging.ackedWrites)],
    ['lost while the region was down', (a) => String(a.messaging.lostWhileDown)],
    ['missing after rejoin', (a) => String(a.messaging.missingAfterRejoin)],
    ['rows quarantined by restore', (a) => String(a.messaging.quarantinedRows)],
    [
      'replication lag under load p50 / max',
      (a) =>
        `${ms(a.messaging.lag.p50Ms)} / ${ms(a.messaging.lag.maxMs)} (${a.messaging.lag.samples} samples)`,
    ],
    ['write latency p50 / p99', (a) => `${ms(a.messaging.writeP50Ms)} / ${ms(a.messaging.writeP99Ms)}`],
    [
      'conflicts merged (same content)',
      (a) =>
        a.messaging.conflicts
          ? `${a.messaging.conflicts.merged} (${a.messaging.conflicts.sameContent})`
          : 'n/a',
    ],
    [
      'read markers written in both regions (merged by max)',
      (a) => (a.messaging.conflicts ? String(a.messaging.conflicts.markersBoth) : 'n/a'),
    ],
    [
      'duplicates left after merge',
      (a) => (a.messaging.conflicts ? String(a.messaging.conflicts.visibleDuplicates) : 'n/a'),
    ],
    [
      'rooms in the same order in both regions',
      (a) => (a.messaging.order ? `${a.messaging.order.identical} of ${a.messaging.order.rooms}` : 'n/a'),
    ],
    ['payments RTO (active-passive in both)', (a) => ms(a.others.payments?.rtoMs ?? null)],
    ['login RTO (active-passive in both)', (a) => ms(a.others.login?.rtoMs ?? null)],
  ];
  const lines = [
    `# Drill active-active: ${r.verdict.toUpperCase()}`,
    '',
    `Same load (${r.load.ratePerSec}/s, warm-up ${r.load.warmupMs / 1000} s, ${r.load.durationMs / 1000} s after the fault, seed ${r.load.seed}) ` +
      `and the same region kill on messaging active-passive, then active-active; ${r.startedAt} → ${r.endedAt}.`,
    '',
    '| | active-passive | active-active |',
    '| --- | --- | --- |',
    ...rows.map(([name, f]) => `| ${name} | ${cell(ap, f)} | ${cell(aa, f)} |`),
    '',
    '## The trade-off',
    '',
    r.tradeOff,
    '',
    '## Expectations',
    '',
    ...r.arms.flatMap((a) => [
      `- **${a.topology}** (${a.verdict}): ${a.expected}. Full drill report: \`${a.reportDir}\`.`,
      ...a.reasons.map((reason) => `  - ${reason}`),
    ]),
    '',
  ];
  return lines.join('\n');
}

function percentile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
}

const round = (v: number) => Math.round(v * 10) / 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
