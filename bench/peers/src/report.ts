// Turning runs into the table, the chart and the words under them (pure: results in, text out).
import { formatNumber, medianAndWorst, ratioLabel, type WriteAudit } from './measure';
import type { ConfigName, SystemName } from './systems/types';

export interface RunResult {
  system: SystemName;
  config: ConfigName;
  run: number;
  startedAt: string;
  /** null when the run could not get as far as the fault */
  faultAt: string | null;
  setupMs: number;
  rtoMs: number | null;
  stallMs: number;
  failed: number;
  requests: number;
  errors: [string, number][];
  /** null when the new primary could not be audited (see notes) */
  audit: WriteAudit | null;
  spurious: number | null;
  loadAverage: { mean: number; max: number };
  /** requests per second of the run, from 3 s before the fault: ok and failed counts */
  perSecond: { t: number; ok: number; failed: number }[];
  details: Record<string, unknown>;
  notes: string[];
  /** the run could not be measured (setup failed, the system never served); its figures are empty */
  error?: string;
}

export interface Spread {
  median: number | null;
  worst: number | null;
}

export interface ConfigSummary {
  system: SystemName;
  config: ConfigName;
  settings: string;
  runs: number;
  brokenRuns: number;
  rtoMs: Spread;
  stallMs: Spread;
  failed: Spread;
  lost: Spread;
  duplicated: Spread;
  spurious: Spread;
  loadAverage: { median: number | null; max: number | null };
}

export function summarize(system: SystemName, config: ConfigName, settings: string, runs: RunResult[]) {
  const measured = runs.filter((r) => !r.error);
  const load = medianAndWorst(measured.map((r) => r.loadAverage.mean));
  return {
    system,
    config,
    settings,
    runs: measured.length,
    brokenRuns: runs.length - measured.length,
    rtoMs: medianAndWorst(measured.map((r) => r.rtoMs)),
    stallMs: medianAndWorst(measured.map((r) => r.stallMs)),
    failed: medianAndWorst(measured.map((r) => r.failed)),
    lost: medianAndWorst(measured.flatMap((r) => (r.audit ? [r.audit.lost] : []))),
    duplicated: medianAndWorst(measured.flatMap((r) => (r.audit ? [r.audit.duplicated] : []))),
    spurious: medianAndWorst(measured.flatMap((r) => (r.spurious === null ? [] : [r.spurious]))),
    loadAverage: {
      median: load.median,
      max: measured.length ? Math.max(...measured.map((r) => r.loadAverage.max)) : null,
    },
  } satisfies ConfigSummary;
}

const NAMES: Record<SystemName, string> = {
  project: 'failover-lab (router + payments cells)',
  patroni: 'Patroni + etcd + HAProxy',
  sentinel: 'Redis Sentinel + ioredis',
};

const SHORT: Record<SystemName, string> = {
  project: 'failover-lab',
  patroni: 'Patroni + etcd + HAProxy',
  sentinel: 'Redis Sentinel + ioredis',
};

const s = (ms: number | null) => (ms === null ? 'n/r' : (ms / 1000).toFixed(2));
const n = (v: number | null) => (v === null ? 'n/a' : formatNumber(v));

function cell(spread: Spread, format: (v: number | null) => string, project?: Spread): string {
  const base = `${format(spread.median)} / ${format(spread.worst)}`;
  return project ? `${base} (${ratioLabel(spread.median, project.median)})` : base;
}

/**
 * One markdown table (it reads as plain text too): median / worst over runs, the ratio of each peer's
 * median to the project's in brackets. "n/r" = not recovered within the run's cap.
 */
export function formatTable(summaries: readonly ConfigSummary[]): string {
  const project = summaries.find((x) => x.system === 'project');
  const header = [
    'system',
    'config',
    'runs',
    'RTO s',
    'longest stall s',
    'failed requests',
    'lost acked writes',
    'duplicated writes',
    'spurious failovers',
    'load avg 1m',
  ];
  const rows = summaries.map((x) => {
    const vs = x.system === 'project' ? undefined : project;
    return [
      NAMES[x.system],
      x.config,
      `${x.runs}${x.brokenRuns ? ` (+${x.brokenRuns} broken)` : ''}`,
      cell(x.rtoMs, s, vs?.rtoMs),
      cell(x.stallMs, s, vs?.stallMs),
      cell(x.failed, n, vs?.failed),
      cell(x.lost, n, vs?.lost),
      cell(x.duplicated, n, vs?.duplicated),
      cell(x.spurious, n, vs?.spurious),
      `${x.loadAverage.median === null ? 'n/a' : x.loadAverage.median.toFixed(1)} / ${x.loadAverage.max === null ? 'n/a' : x.loadAverage.max.toFixed(1)}`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function settingsList(summaries: readonly ConfigSummary[]): string {
  return summaries.map((x) => `- ${NAMES[x.system]}, ${x.config}: ${x.settings}`).join('\n');
}

/** What each system's RTO buys, with this run's figures in it. */
export function comparisonText(summaries: readonly ConfigSummary[]): string {
  const find = (system: SystemName, config: ConfigName) =>
    summaries.find((x) => x.system === system && x.config === config);
  const project = find('project', 'default');
  const rto = (x: ConfigSummary | undefined) =>
    x && x.runs > 0
      ? `${s(x.rtoMs.median)} s${project && x !== project ? ` (${ratioLabel(x.rtoMs.median, project.rtoMs.median)} the project)` : ''}`
      : 'not measured';
  const lines: string[] = [];
  lines.push(
    `- failover-lab: median RTO ${rto(project)}. One router owns routing and the failover decision: it ` +
      'promotes the standby as soon as its probes confirm the primary is down and the deadlines of the ' +
      'writes it sent there have passed, and fences the old cell with an epoch. That is fast because the ' +
      'router is the arbiter — the safety rests on that single controller (docs/ explain its fencing).',
  );
  lines.push(
    `- Patroni: median RTO ${rto(find('patroni', 'default'))} with defaults, ${rto(find('patroni', 'tuned'))} tuned. ` +
      'Nearly all of it is the leader lease running out: the replica may take the leader key only once the ' +
      'old leader stopped renewing it for ttl seconds, while a primary that cannot renew demotes itself ' +
      'before its lease ends (loop_wait + 2 × retry_timeout ≤ ttl). That wait is what keeps Patroni free of ' +
      'split brain without a central router or any arbiter beyond the DCS — the RTO buys safety with no ' +
      'external arbiter. Tuning shortens the lease, and with it the margin for a slow etcd or a paused primary.',
  );
  lines.push(
    `- Redis Sentinel: median RTO ${rto(find('sentinel', 'default'))} with defaults, ${rto(find('sentinel', 'tuned'))} tuned. ` +
      'The quorum (2 of 3 sentinels agreeing the master is down, then a majority electing one sentinel ' +
      'for the failover epoch) is what keeps one sentinel with a bad view from failing a healthy master ' +
      'over on its own, so the RTO is down-after-milliseconds plus an election. It buys agreement on ' +
      'who leads, not fencing: replication stays asynchronous and an old master cut off from the ' +
      'sentinels keeps taking writes that are lost when it rejoins. A short down-after also makes false ' +
      'suspicion likelier (see the spurious failovers column).',
  );
  return lines.join('\n');
}

// ---- the chart: hand-written SVG (three panels of horizontal bars: median bar, worst as a tick)

const COLORS: Record<SystemName, string> = { project: '#2a9d4b', patroni: '#3366cc', sentinel: '#cc3333' };

const escapeXml = (text: string) =>
  text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

interface Panel {
  title: string;
  value: (x: ConfigSummary) => Spread;
  scale: number;
  unit: (v: number) => string;
}

export function renderSvg(summaries: readonly ConfigSummary[], subtitle: string): string {
  const panels: Panel[] = [
    { title: 'client-observed RTO (s)', value: (x) => x.rtoMs, scale: 1000, unit: (v) => v.toFixed(2) },
    { title: 'longest stall (s)', value: (x) => x.stallMs, scale: 1000, unit: (v) => v.toFixed(2) },
    { title: 'failed requests', value: (x) => x.failed, scale: 1, unit: (v) => formatNumber(v) },
  ];
  const labelWidth = 290;
  const barWidth = 420;
  const rowHeight = 22;
  const width = labelWidth + barWidth + 170;
  const panelHeight = 28 + summaries.length * rowHeight + 14;
  const top = 56;
  const height = top + panels.length * panelHeight + 30;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    // The title is the chart's alternative text (screen readers, a tooltip, biome's a11y rule).
    `<title>Same fault, three systems: RTO, longest stall and failed requests per configuration</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="16" font-weight="bold">Same fault, three systems: SIGKILL of the primary under load</text>`,
    `<text x="12" y="42" fill="#555555">${escapeXml(subtitle)}</text>`,
  ];
  panels.forEach((panel, p) => {
    const y0 = top + p * panelHeight;
    const values = summaries.flatMap((x) => {
      const v = panel.value(x);
      return [v.median, v.worst].filter((z): z is number => z !== null).map((z) => z / panel.scale);
    });
    const max = Math.max(1e-9, ...values);
    out.push(`<text x="12" y="${y0 + 16}" font-weight="bold">${escapeXml(panel.title)}</text>`);
    summaries.forEach((x, i) => {
      const y = y0 + 28 + i * rowHeight;
      const v = panel.value(x);
      const median = v.median === null ? null : v.median / panel.scale;
      const worst = v.worst === null ? null : v.worst / panel.scale;
      out.push(
        `<text x="12" y="${y + 14}">${escapeXml(`${SHORT[x.system]} · ${x.config} (${x.runs} run${x.runs === 1 ? '' : 's'})`)}</text>`,
      );
      if (median === null) {
        out.push(`<text x="${labelWidth}" y="${y + 14}" fill="#990000">not recovered</text>`);
        return;
      }
      const w = Math.max(1, (median / max) * barWidth);
      out.push(
        `<rect x="${labelWidth}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowHeight - 8}" fill="${COLORS[x.system]}"${x.config === 'tuned' ? ' fill-opacity="0.6"' : ''}/>`,
      );
      let textX = labelWidth + w + 6;
      if (worst !== null && worst > median) {
        const wx = labelWidth + (worst / max) * barWidth;
        out.push(
          `<line x1="${wx.toFixed(1)}" y1="${y + 1}" x2="${wx.toFixed(1)}" y2="${y + rowHeight - 3}" stroke="#000000" stroke-width="2"/>`,
        );
        textX = wx + 6;
      }
      const label = `${panel.unit(median)}${worst !== null && worst !== median ? ` (worst ${panel.unit(worst)})` : ''}`;
      out.push(`<text x="${textX.toFixed(1)}" y="${y + 14}">${escapeXml(label)}</text>`);
    });
  });
  out.push(
    `<text x="12" y="${height - 10}" fill="#555555">bar = median over runs, tick = worst run; lighter bar = tuned settings</text>`,
    '</svg>',
    '',
  );
  return out.join('\n');
}
