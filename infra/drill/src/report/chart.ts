// One inline SVG per service: success rate and p99 latency per bucket, the fault and every controller
// event marked. Plain SVG text so report.html works offline and diffs readably.
import type { Bucket, ControllerEvent } from '@failover-lab/contracts';
import { escapeHtml } from './format';

const WIDTH = 960;
const HEIGHT = 260;
const PAD = { left: 56, right: 64, top: 52, bottom: 34 };
const EVENT_COLOURS: Record<string, string> = {
  suspected: '#b58900',
  confirmed_down: '#cb4b16',
  promote_started: '#6c71c4',
  promoted: '#268bd2',
  routed: '#2aa198',
  fenced: '#d33682',
  degraded_async: '#93a1a1',
  sync_restored: '#859900',
};

export interface ChartInput {
  title: string;
  buckets: Bucket[];
  bucketMs: number;
  totalMs: number;
  /** ms since load start */
  faultAtMs: number | null;
  events: { atMs: number; event: ControllerEvent }[];
  /** link faults applied or healed (ms since load start) */
  links?: { atMs: number; label: string }[];
}

export function renderChart(input: ChartInput): string {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const totalMs = Math.max(input.totalMs, input.bucketMs);
  const x = (t: number) => PAD.left + (Math.min(Math.max(t, 0), totalMs) / totalMs) * plotW;
  const yRate = (rate: number) => PAD.top + (1 - rate) * plotH;
  const maxLatency = niceCeiling(Math.max(1, ...input.buckets.map((b) => b.p99Ms ?? 0)));
  const yLatency = (v: number) => PAD.top + (1 - v / maxLatency) * plotH;
  const parts: string[] = [];

  // Grid and axes
  for (const rate of [0, 0.25, 0.5, 0.75, 1]) {
    const y = yRate(rate);
    parts.push(`<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(
      `<text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end" class="axis ok">${rate * 100}%</text>`,
    );
    parts.push(
      `<text x="${PAD.left + plotW + 6}" y="${y + 4}" class="axis lat">${formatMs(maxLatency * rate)}</text>`,
    );
  }
  const tickEvery = tickStep(totalMs);
  for (let t = 0; t <= totalMs; t += tickEvery) {
    parts.push(
      `<line x1="${x(t)}" x2="${x(t)}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH + 4}" stroke="#888"/>`,
    );
    parts.push(
      `<text x="${x(t)}" y="${PAD.top + plotH + 17}" text-anchor="middle" class="axis">${t / 1000}s</text>`,
    );
  }
  parts.push(
    `<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#bbb"/>`,
  );

  // Buckets without any request (everything dropped or nothing sent): shade them, they are outages too.
  for (const b of input.buckets) {
    if (b.requests === 0) {
      parts.push(
        `<rect x="${x(b.atMs)}" y="${PAD.top}" width="${Math.max(1, x(b.atMs + input.bucketMs) - x(b.atMs))}" height="${plotH}" fill="#f3e5e5"/>`,
      );
    }
  }

  // Success-rate area and p99 line, both broken where a bucket is empty.
  const half = input.bucketMs / 2;
  for (const run of runsOf(input.buckets, (b) => b.successRate)) {
    const top = run.map((b) => `${x(b.atMs + half).toFixed(1)},${yRate(b.successRate!).toFixed(1)}`);
    const first = x(run[0]!.atMs + half).toFixed(1);
    const last = x(run[run.length - 1]!.atMs + half).toFixed(1);
    const base = yRate(0).toFixed(1);
    parts.push(
      `<polygon points="${first},${base} ${top.join(' ')} ${last},${base}" fill="#2e9e4f" fill-opacity="0.18"/>`,
    );
    parts.push(`<polyline points="${top.join(' ')}" fill="none" stroke="#2e9e4f" stroke-width="1.8"/>`);
  }
  for (const run of runsOf(input.buckets, (b) => b.p99Ms)) {
    const points = run.map((b) => `${x(b.atMs + half).toFixed(1)},${yLatency(b.p99Ms!).toFixed(1)}`);
    parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="#d9822b" stroke-width="1.4"/>`);
  }

  // Markers: the fault and every controller event, numbered (several land within one second, so
  // names would overlap); chartMarkers() gives the list printed under the chart.
  const rowEnds: number[] = [];
  for (const m of chartMarkers(input)) {
    const mx = x(m.atMs);
    let row = rowEnds.findIndex((end) => end < mx);
    if (row === -1) row = rowEnds.length;
    rowEnds[row] = mx + String(m.number).length * 6 + 4;
    const tagY = PAD.top - 6 - (row % 4) * 11;
    parts.push(
      `<line x1="${mx}" x2="${mx}" y1="${tagY + 2}" y2="${PAD.top + plotH}" stroke="${m.colour}" stroke-width="${m.strong ? 2 : 1}"${m.strong ? '' : ' stroke-dasharray="3,2"'}/>`,
    );
    parts.push(`<text x="${mx + 2}" y="${tagY}" class="marker" fill="${m.colour}">${m.number}</text>`);
  }

  parts.push(
    `<text x="${PAD.left}" y="${HEIGHT - 4}" class="legend"><tspan fill="#2e9e4f">■ success rate</tspan>  <tspan fill="#d9822b">— p99 latency (right axis)</tspan>  <tspan fill="#c99">■ no requests</tspan>  per ${input.bucketMs} ms bucket, time since load start</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeHtml(input.title)}">
<style>text{font-family:system-ui,sans-serif;font-size:10px}.axis{fill:#555}.ok{fill:#2e9e4f}.lat{fill:#d9822b}.marker{font-size:9.5px}.legend{font-size:10.5px;fill:#444}</style>
${parts.join('\n')}
</svg>`;
}

export interface ChartMarker {
  number: number;
  atMs: number;
  label: string;
  colour: string;
  strong: boolean;
}

/** The fault and the events, in time order, numbered as they appear on the chart. */
export function chartMarkers(input: Pick<ChartInput, 'faultAtMs' | 'events' | 'links'>): ChartMarker[] {
  const markers: Omit<ChartMarker, 'number'>[] = [];
  for (const link of input.links ?? []) {
    markers.push({ atMs: link.atMs, label: link.label, colour: '#6c71c4', strong: false });
  }
  if (input.faultAtMs !== null)
    markers.push({ atMs: input.faultAtMs, label: 'fault', colour: '#dc322f', strong: true });
  for (const { atMs, event } of input.events) {
    markers.push({
      atMs,
      label: `${event.type}${event.region ? ` ${event.region}` : ''}${event.epoch !== undefined ? ` epoch ${event.epoch}` : ''}`,
      colour: EVENT_COLOURS[event.type] ?? '#657b83',
      strong: false,
    });
  }
  return markers.sort((a, b) => a.atMs - b.atMs).map((m, i) => ({ ...m, number: i + 1 }));
}

function runsOf<T>(items: T[], value: (item: T) => number | null): T[][] {
  const runs: T[][] = [];
  let current: T[] = [];
  for (const item of items) {
    if (value(item) === null) {
      if (current.length > 0) runs.push(current);
      current = [];
    } else current.push(item);
  }
  if (current.length > 0) runs.push(current);
  return runs;
}

function niceCeiling(v: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= v) return step * magnitude;
  return 10 * magnitude;
}

function tickStep(totalMs: number): number {
  for (const step of [1000, 2000, 5000, 10_000, 30_000, 60_000]) if (totalMs / step <= 14) return step;
  return 120_000;
}

function formatMs(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(v % 1000 === 0 ? 0 : 1)}s` : `${Math.round(v)}ms`;
}
