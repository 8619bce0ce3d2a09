// The detection sweep's pure parts: which knob settings it tries, what each point's runs add up to,
// which points are worth choosing (the frontier), and the table. The SVG plot is in plot.ts.
import {
  ProbeConfigSchema,
  type SweepKnobs,
  type SweepPoint,
  type SweepReport,
  type SweepRun,
} from '@failover-lab/contracts';
import { ms } from '../report/format';

const defaultOf = (key: keyof SweepKnobs) =>
  (ProbeConfigSchema.properties[key] as unknown as { default: number }).default;

/** The router's own defaults (infra/contracts/src/router-config.ts), always one of the points. */
export const DEFAULT_KNOBS: SweepKnobs = {
  intervalMs: defaultOf('intervalMs'),
  timeoutMs: defaultOf('timeoutMs'),
  fall: defaultOf('fall'),
};

/**
 * Eight settings from eager to patient, ordered so that any prefix spreads over the range: the
 * default first, then the extremes, then what lies between. A stall is confirmed after about
 * fall × max(interval, timeout); a latency spike longer than the timeout fails a probe.
 */
export const SWEEP_GRID: readonly SweepKnobs[] = [
  DEFAULT_KNOBS,
  { intervalMs: 100, timeoutMs: 200, fall: 2 },
  { intervalMs: 1_000, timeoutMs: 2_000, fall: 3 },
  { intervalMs: 100, timeoutMs: 300, fall: 3 },
  { intervalMs: 500, timeoutMs: 1_000, fall: 3 },
  { intervalMs: 200, timeoutMs: 300, fall: 2 },
  { intervalMs: 200, timeoutMs: 500, fall: 5 },
  { intervalMs: 500, timeoutMs: 1_000, fall: 5 },
];

/** The first `points` settings of the grid (at least one: the default). */
export function sweepGrid(points: number): SweepKnobs[] {
  if (!Number.isInteger(points) || points < 1 || points > SWEEP_GRID.length)
    throw new RangeError(`points must be 1 to ${SWEEP_GRID.length}`);
  return SWEEP_GRID.slice(0, points).map((k) => ({ ...k }));
}

export const sameKnobs = (a: SweepKnobs, b: SweepKnobs) =>
  a.intervalMs === b.intervalMs && a.timeoutMs === b.timeoutMs && a.fall === b.fall;

export const describeKnobs = (k: SweepKnobs) => `${k.intervalMs}/${k.timeoutMs}/${k.fall}`;

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** One point from its runs (frontier not yet decided). */
export function summarizePoint(knobs: SweepKnobs, runs: SweepRun[]): SweepPoint {
  // a partial run's stall episode finished: what it measured counts
  const finished = runs.filter((r) => r.error === undefined || r.partial === true);
  const measured = (pick: (r: SweepRun) => number | null) =>
    finished.map(pick).filter((v): v is number => v !== null);
  return {
    knobs,
    isDefault: sameKnobs(knobs, DEFAULT_KNOBS),
    runs,
    detectMedianMs: median(measured((r) => r.detectMs)),
    rtoMedianMs: median(measured((r) => r.rtoMs)),
    falseFailoverRate:
      finished.length === 0 ? 0 : finished.reduce((n, r) => n + r.falseFailovers, 0) / finished.length,
    onFrontier: false,
  };
}

/**
 * Marks the Pareto frontier: a point is on it when no other point detects at least as fast with at
 * most as many false failovers and is strictly better in one. A point that never detected the stall
 * is never on it.
 */
export function markFrontier(points: SweepPoint[]): SweepPoint[] {
  return points.map((p) => {
    if (p.detectMedianMs === null) return { ...p, onFrontier: false };
    const dominated = points.some(
      (q) =>
        q !== p &&
        q.detectMedianMs !== null &&
        q.detectMedianMs <= p.detectMedianMs! &&
        q.falseFailoverRate <= p.falseFailoverRate &&
        (q.detectMedianMs < p.detectMedianMs! || q.falseFailoverRate < p.falseFailoverRate),
    );
    return { ...p, onFrontier: !dominated };
  });
}

/** The table of sweep.md and the terminal. */
export function renderSweepTable(report: SweepReport): string {
  const header = [
    'interval/timeout/fall',
    'detect (median)',
    'payments RTO (median)',
    'false failovers / episode',
    'runs',
    'frontier',
  ];
  const rows = report.points.map((p) => [
    `${describeKnobs(p.knobs)}${p.isDefault ? ' (default)' : ''}`,
    ms(p.detectMedianMs),
    ms(p.rtoMedianMs),
    p.falseFailoverRate.toFixed(2),
    runsCell(p.runs),
    p.onFrontier ? 'yes' : '',
  ]);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function runsCell(runs: SweepRun[]): string {
  const failed = runs.filter((r) => r.error !== undefined).length;
  const partial = runs.filter((r) => r.error !== undefined && r.partial).length;
  if (failed === 0) return String(runs.length);
  return `${runs.length} (${failed} did not finish${partial > 0 ? `, ${partial} of them after the stall` : ''})`;
}

export function renderSweepMarkdown(report: SweepReport): string {
  const loads = report.points.flatMap((p) => p.runs.map((r) => r.loadAverage));
  return [
    '# Detection sweep: probe interval × timeout × fall',
    '',
    `${report.startedAt} → ${report.endedAt}; ${report.points.length} point(s) × ${report.runsPerPoint} run(s); ` +
      `1-minute load average ${Math.min(...loads)}–${Math.max(...loads)} during the runs.`,
    '',
    `- Stall: ${report.stall}`,
    `- No fault: ${report.noFault}`,
    '',
    renderSweepTable(report),
    '',
    '![trade-off](sweep.svg)',
    '',
    ...report.points.flatMap((p) =>
      p.runs.flatMap((r, i) =>
        r.error
          ? [
              `- ${describeKnobs(p.knobs)} run ${i + 1} did not finish${r.partial ? ' (its stall episode did, and counts)' : ''}: ${r.error}`,
            ]
          : [],
      ),
    ),
    '',
  ].join('\n');
}
