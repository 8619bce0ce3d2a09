// The recovery benchmark's figures, from each drill's report.json (pure, tested).
import { type DrillReport, SERVICES } from '@failover-lab/contracts';

export interface RunFigures {
  scenario: string;
  run: number;
  verdict: 'pass' | 'fail';
  /**
   * the longest time a service that failed over went without a successful answer after the fault
   * (every service when none did)
   */
  stallMs: number;
  /** fault → the last `routed` event of a service that failed over; null: nothing was routed */
  routedMs: number | null;
  failed: number;
  lostPayments: number;
  /** 1-minute load average when the drill started and when it ended */
  loadStart: number;
  loadEnd: number;
  /** the whole drill, lab start and stop included */
  wallMs: number;
  /**
   * how long the lab took to carry out the fault (the drill's "injected (took N ms)"): the fault
   * happened somewhere inside it, and fault → routed counts from its start
   */
  injectMs: number | null;
  /** the slowest failed-over service's breakdown, as the report's phases carry it */
  phases: DrillReport['phases'][string] | null;
}

export function figuresOf(
  report: DrillReport,
  run: number,
  load: { start: number; end: number },
  wallMs: number,
  injectMs: number | null = null,
): RunFigures {
  const faultMs = Date.parse(report.fault.injectedAt);
  let routedMs: number | null = null;
  let slowest: string | null = null;
  for (const service of Object.keys(report.phases)) {
    const routed = report.events.find(
      (e) => e.service === service && e.type === 'routed' && Date.parse(e.at) >= faultMs,
    );
    if (!routed) continue;
    const ms = Date.parse(routed.at) - faultMs;
    if (routedMs === null || ms > routedMs) {
      routedMs = ms;
      slowest = service;
    }
  }
  return {
    scenario: report.scenario,
    run,
    verdict: report.verdict,
    // the services the fault reached (those that failed over); the others' stalls are the machine's
    stallMs: Math.max(
      ...(Object.keys(report.phases).length > 0 ? Object.keys(report.phases) : SERVICES).map(
        (s) => report.services[s as (typeof SERVICES)[number]].maxStallMs,
      ),
    ),
    routedMs,
    failed: SERVICES.reduce((sum, s) => sum + report.services[s].failed, 0),
    lostPayments: report.services.payments.lostAckedWrites,
    loadStart: load.start,
    loadEnd: load.end,
    wallMs,
    injectMs,
    phases: slowest ? report.phases[slowest]! : null,
  };
}

/** The median (the lower middle of an even count) and the worst; null for no values. */
export function medianAndWorst(values: readonly (number | null)[]): { median: number; worst: number } | null {
  const known = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (known.length === 0) return null;
  return { median: known[Math.floor((known.length - 1) / 2)]!, worst: known[known.length - 1]! };
}

const ms = (v: number | null) => (v === null ? '—' : `${Math.round(v)} ms`);
const load = (v: number) => v.toFixed(1);

export function runLine(f: RunFigures): string {
  const p = f.phases;
  const phases = p
    ? ` (detect ${ms(p.detectMs)}, decide ${ms(p.decideMs)}, promote ${ms(p.promoteMs)}, route ${ms(p.routeMs)})`
    : '';
  return (
    `${f.scenario} #${f.run}: ${f.verdict}, stall ${ms(f.stallMs)}, fault→routed ${ms(f.routedMs)}${phases}, ` +
    `inject ${ms(f.injectMs)}, ` +
    `failed ${f.failed}, lost payments ${f.lostPayments}, load ${load(f.loadStart)}→${load(f.loadEnd)}, ` +
    `wall ${(f.wallMs / 1000).toFixed(1)} s`
  );
}

/** One markdown table: every run, then the median and worst of each scenario. */
export function markdownTable(runs: readonly RunFigures[], date: Date): string {
  const lines = [
    `Recovery benchmark, ${date.toISOString().slice(0, 16).replace('T', ' ')} UTC, ` +
      `${new Set(runs.map((r) => r.run)).size} run(s) per scenario, each drill on a fresh lab ` +
      '(`npm run bench -- recovery`).',
    '',
    '| scenario | run | verdict | longest stall | fault → routed | inject | detect | decide | promote | route | failed requests | lost payments | load avg (start → end) |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const f of runs) {
    const p = f.phases;
    lines.push(
      `| ${f.scenario} | ${f.run} | ${f.verdict} | ${ms(f.stallMs)} | ${ms(f.routedMs)} | ${ms(f.injectMs)} | ${ms(p?.detectMs ?? null)} | ` +
        `${ms(p?.decideMs ?? null)} | ${ms(p?.promoteMs ?? null)} | ${ms(p?.routeMs ?? null)} | ${f.failed} | ` +
        `${f.lostPayments} | ${load(f.loadStart)} → ${load(f.loadEnd)} |`,
    );
  }
  lines.push(
    '',
    '| scenario | runs | passed | stall median / worst | fault → routed median / worst | failed median / worst | lost payments (all runs) | load avg median |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const scenario of [...new Set(runs.map((r) => r.scenario))]) {
    const of = runs.filter((r) => r.scenario === scenario);
    const pair = (values: (number | null)[], unit: (v: number) => string) => {
      const mw = medianAndWorst(values);
      return mw ? `${unit(mw.median)} / ${unit(mw.worst)}` : '—';
    };
    const loads = medianAndWorst(of.map((r) => (r.loadStart + r.loadEnd) / 2));
    lines.push(
      `| ${scenario} | ${of.length} | ${of.filter((r) => r.verdict === 'pass').length} | ` +
        `${pair(
          of.map((r) => r.stallMs),
          (v) => ms(v),
        )} | ${pair(
          of.map((r) => r.routedMs),
          (v) => ms(v),
        )} | ${pair(
          of.map((r) => r.failed),
          String,
        )} | ${of.reduce((s, r) => s + r.lostPayments, 0)} | ${loads ? load(loads.median) : '—'} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
