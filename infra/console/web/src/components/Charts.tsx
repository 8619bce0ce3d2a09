// Live traffic per service from the router's metrics: p99 latency and success rate per second over
// the last minutes, with the failover events drawn on. Each chart has a text alternative: a caption
// with the current figures and, on demand, the numbers as a table.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ControllerEvent, MetricsPoint, ServiceName } from '../types';
import { SERVICES } from '../types';
import { clock, ms } from '../words';

const WINDOW_S = 300;
const MARKED = new Set(['confirmed_down', 'routed']);

function seriesOf(points: MetricsPoint[], service: ServiceName): uPlot.AlignedData {
  const xs: number[] = [];
  const p99: (number | null)[] = [];
  const success: (number | null)[] = [];
  for (const p of points) {
    const s = p.services[service];
    xs.push(p.t / 1000);
    p99.push(s?.p99Ms ?? null);
    success.push(s?.successRate === null || s?.successRate === undefined ? null : s.successRate * 100);
  }
  return [xs, p99, success];
}

function Chart(props: { service: ServiceName; points: MetricsPoint[]; events: ControllerEvent[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const markers = useRef<ControllerEvent[]>([]);
  markers.current = props.events.filter((e) => e.service === props.service && MARKED.has(e.type));

  useEffect(() => {
    const el = box.current!;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 150,
      // the colours are named in the panel's text; a legend per chart would cost a line of height
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: true }, pct: { range: [0, 100] } },
      series: [
        {},
        { label: 'p99 ms', scale: 'ms', stroke: '#d97706', width: 2, spanGaps: false },
        { label: 'success %', scale: 'pct', stroke: '#2563eb', width: 2, spanGaps: false },
      ],
      axes: [
        { stroke: '#334155' },
        { scale: 'ms', stroke: '#b45309', values: (_u, v) => v.map((x) => `${x} ms`), size: 64 },
        { scale: 'pct', side: 1, stroke: '#1d4ed8', values: (_u, v) => v.map((x) => `${x}%`) },
      ],
      hooks: {
        draw: [
          (u) => {
            const { ctx } = u;
            ctx.save();
            for (const e of markers.current) {
              const x = u.valToPos(Date.parse(e.at) / 1000, 'x', true);
              if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
              ctx.strokeStyle = e.type === 'routed' ? '#16a34a' : '#dc2626';
              ctx.lineWidth = 2 * devicePixelRatio;
              ctx.setLineDash([6, 4]);
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
              ctx.fillStyle = ctx.strokeStyle;
              ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
              ctx.fillText(
                e.type === 'routed' ? `→ ${e.region}` : `${e.region} down`,
                x + 4,
                // routed one line lower: a down and its routed are often a few pixels apart
                u.bbox.top + (e.type === 'routed' ? 26 : 12) * devicePixelRatio,
              );
            }
            ctx.restore();
          },
        ],
      },
    };
    plot.current = new uPlot(opts, seriesOf([], props.service), el);
    const resize = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 150 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [props.service]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    const now = (props.points.at(-1)?.t ?? Date.now()) / 1000;
    // a short history fills the chart instead of hugging its right edge; at most the last 5 minutes
    const first = (props.points[0]?.t ?? Date.now()) / 1000;
    u.batch(() => {
      u.setData(seriesOf(props.points, props.service), false);
      u.setScale('x', { min: Math.max(now - WINDOW_S, Math.min(first, now - 60)), max: now });
    });
  }, [props.points, props.events, props.service]);

  return <div ref={box} class="chart" aria-hidden="true" />;
}

function DataTable(props: { service: ServiceName; points: MetricsPoint[] }) {
  const [open, setOpen] = useState(false);
  const rows = props.points.slice(-180);
  return (
    <details onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}>
      <summary>Numbers (last 3 minutes)</summary>
      {open && (
        <table class="numbers" data-testid={`chart-data-${props.service}`}>
          <thead>
            <tr>
              <th scope="col">time</th>
              <th scope="col">requests</th>
              <th scope="col">failed</th>
              <th scope="col">success</th>
              <th scope="col">p99</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((p) => {
              const s = p.services[props.service];
              return (
                <tr
                  key={p.t}
                  data-t={p.t}
                  data-p99={s.p99Ms ?? ''}
                  data-requests={s.requests}
                  data-failed={s.failed}
                >
                  <td>{clock(p.t)}</td>
                  <td>{s.requests}</td>
                  <td>{s.failed}</td>
                  <td>{s.successRate === null ? '—' : `${(s.successRate * 100).toFixed(1)}%`}</td>
                  <td>{ms(s.p99Ms)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </details>
  );
}

function caption(service: ServiceName, points: MetricsPoint[]): string {
  const recent = points.slice(-WINDOW_S);
  const last = recent.at(-1)?.services[service];
  if (!last) return `${service}: no traffic data yet`;
  const peak = recent.reduce<{ p99: number; t: number } | null>((best, p) => {
    const v = p.services[service].p99Ms;
    return v !== null && (best === null || v > best.p99) ? { p99: v, t: p.t } : best;
  }, null);
  const failed = recent.reduce((a, p) => a + p.services[service].failed, 0);
  const now =
    last.requests === 0
      ? 'no requests in the last second'
      : `now ${last.requests} req/s, ${((last.successRate ?? 0) * 100).toFixed(0)}% ok, p99 ${ms(last.p99Ms)}`;
  return `${service}: ${now}; last 5 min: peak p99 ${peak ? `${ms(peak.p99)} at ${clock(peak.t)}` : '—'}, ${failed} failed at the router`;
}

export function Charts(props: {
  points: MetricsPoint[];
  events: ControllerEvent[];
  children?: ComponentChildren;
}) {
  return (
    <section class="panel charts" aria-labelledby="charts-title">
      <div class="charts-head">
        <div>
          <h2 id="charts-title">Live traffic at the router</h2>
          <p class="small">
            Per second, from the router's metrics (any traffic: the console's, a drill's, yours):{' '}
            <span class="p99">p99 latency</span> (left axis), <span class="success">success rate</span> (right
            axis). Dashed lines: <span class="tone-bad">red</span> a primary confirmed down,{' '}
            <span class="tone-good">green</span> traffic routed to the new primary.
          </p>
        </div>
        {props.children}
      </div>
      <div class="chart-row">
        {SERVICES.map((service) => (
          <figure key={service} class="chart-figure" aria-label={`${service} latency and success rate`}>
            <figcaption data-testid={`chart-caption-${service}`}>{caption(service, props.points)}</figcaption>
            <Chart service={service} points={props.points} events={props.events} />
            <DataTable service={service} points={props.points} />
          </figure>
        ))}
      </div>
    </section>
  );
}
