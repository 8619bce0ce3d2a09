// sweep.svg: each knob setting as a point — how fast a stall is detected (x) against how many false
// failovers an episode with no fault caused (y) — the frontier joined by a line, the default ringed.
// Hand-written SVG (a few dozen elements): self-contained like report.html, no script, no font, no network.
import type { SweepPoint } from '@failover-lab/contracts';
import { escapeHtml } from '../report/format';
import { describeKnobs } from './analysis';

const W = 720;
const H = 420;
const PAD = { left: 70, right: 30, top: 40, bottom: 60 };

/** Round numbers for an axis from 0 to at least `max`. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = 0; t < max + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

/** label line height and the width of one character at font-size 12, for the labels' layout */
const LINE = 14;
const CHAR_W = 7;

export function renderSweepSvg(points: SweepPoint[]): string {
  const plotted = points.filter((p) => p.detectMedianMs !== null);
  const xTicks = niceTicks(Math.max(0, ...plotted.map((p) => p.detectMedianMs!)));
  const yTicks = niceTicks(Math.max(1, ...plotted.map((p) => p.falseFailoverRate)));
  const xMax = xTicks[xTicks.length - 1]!;
  const yMax = yTicks[yTicks.length - 1]!;
  const x = (v: number) => PAD.left + (v / xMax) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / yMax) * (H - PAD.top - PAD.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    '<title>Detection speed against false failovers, per probe setting</title>',
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">Faster detection costs false failovers (interval/timeout/fall)</text>`,
  ];
  for (const t of xTicks) {
    out.push(
      `<line x1="${x(t)}" y1="${y(0)}" x2="${x(t)}" y2="${PAD.top}" stroke="#eee"/>`,
      `<text x="${x(t)}" y="${y(0) + 16}" text-anchor="middle">${t}</text>`,
    );
  }
  for (const t of yTicks) {
    out.push(
      `<line x1="${PAD.left}" y1="${y(t)}" x2="${W - PAD.right}" y2="${y(t)}" stroke="#eee"/>`,
      `<text x="${PAD.left - 8}" y="${y(t) + 4}" text-anchor="end">${t}</text>`,
    );
  }
  out.push(
    `<line x1="${PAD.left}" y1="${y(0)}" x2="${W - PAD.right}" y2="${y(0)}" stroke="#333"/>`,
    `<line x1="${PAD.left}" y1="${y(0)}" x2="${PAD.left}" y2="${PAD.top}" stroke="#333"/>`,
    `<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 20}" text-anchor="middle">stall detected after (median, ms)</text>`,
    `<text x="18" y="${(PAD.top + H - PAD.bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(PAD.top + H - PAD.bottom) / 2})">false failovers per no-fault episode</text>`,
  );
  const frontier = plotted.filter((p) => p.onFrontier).sort((a, b) => a.detectMedianMs! - b.detectMedianMs!);
  if (frontier.length > 1) {
    const path = frontier.map((p) => `${x(p.detectMedianMs!)},${y(p.falseFailoverRate)}`).join(' ');
    out.push(
      `<polyline class="frontier" points="${path}" fill="none" stroke="#2a7" stroke-width="2" stroke-dasharray="6 4"/>`,
    );
  }
  // Settings often land close together (same false-failover count, similar detection): a label that
  // would overlap one already placed moves up a line, so every setting stays readable.
  const placed: { x1: number; x2: number; y: number }[] = [];
  // (above the plot's top a label would run into the title: it goes below the point instead)
  const labelY = (x1: number, x2: number, cy: number) => {
    const free = (ly: number) => !placed.some((b) => x1 < b.x2 && b.x1 < x2 && Math.abs(b.y - ly) < LINE);
    let ly = cy - 8;
    while (!free(ly) && ly - LINE >= PAD.top) ly -= LINE;
    if (!free(ly)) for (ly = cy + 20; !free(ly); ly += LINE);
    placed.push({ x1, x2, y: ly });
    return ly;
  };
  for (const p of [...plotted].sort((a, b) => a.detectMedianMs! - b.detectMedianMs!)) {
    const cx = x(p.detectMedianMs!);
    const cy = y(p.falseFailoverRate);
    const label = `${describeKnobs(p.knobs)}${p.isDefault ? ' (default)' : ''}`;
    const ly = labelY(cx + 8, cx + 8 + label.length * CHAR_W, cy);
    out.push(
      `<circle class="point${p.onFrontier ? ' on-frontier' : ''}" cx="${cx}" cy="${cy}" r="5" fill="${p.onFrontier ? '#2a7' : '#888'}"><title>${escapeHtml(label)}</title></circle>`,
    );
    if (p.isDefault)
      out.push(
        `<circle class="default" cx="${cx}" cy="${cy}" r="10" fill="none" stroke="#c33" stroke-width="2"/>`,
      );
    out.push(
      `<text x="${cx + 8}" y="${ly}"${p.isDefault ? ' fill="#c33" font-weight="bold"' : ''}>${escapeHtml(label)}</text>`,
    );
  }
  const missing = points.filter((p) => p.detectMedianMs === null);
  if (missing.length > 0) {
    out.push(
      `<text x="${PAD.left}" y="${H - 4}" fill="#c33">never detected the stall: ${escapeHtml(missing.map((p) => describeKnobs(p.knobs)).join(', '))}</text>`,
    );
  }
  out.push(
    `<text x="${W - PAD.right}" y="${PAD.top + 4}" text-anchor="end" fill="#2a7">— — frontier</text>`,
    `<text x="${W - PAD.right}" y="${PAD.top + 20}" text-anchor="end" fill="#c33">○ default</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}
