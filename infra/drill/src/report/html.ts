// report.html: self-contained (inline CSS and SVG, no scripts, no fonts, no network).
import { type DrillReport, SERVICES } from '@failover-lab/contracts';
import { chartMarkers, renderChart } from './chart';
import { escapeHtml, lostCell, ms, rpoLines, rto } from './format';

export function renderHtml(report: DrillReport): string {
  const loadStartMs = Date.parse(report.load.startedAt);
  const totalMs =
    report.timeline.bucketMs * Math.max(...SERVICES.map((s) => report.timeline.services[s].length));
  const faultAtMs = Date.parse(report.fault.injectedAt) - loadStartMs;
  const links = (report.linkFaults ?? []).map((change) => ({
    atMs: Date.parse(change.at) - loadStartMs,
    label: `${change.kind} ${change.target}`,
  }));
  const charts = SERVICES.map((service) => {
    const events = report.events
      .filter((e) => e.service === service || e.service === undefined)
      .map((event) => ({ atMs: Date.parse(event.at) - loadStartMs, event }))
      .filter((e) => e.atMs >= 0 && e.atMs <= totalMs);
    const s = report.services[service];
    const errors = Object.entries(s.errors)
      .sort((a, b) => b[1] - a[1])
      .map(([what, count]) => `${escapeHtml(what)} ×${count}`)
      .join(', ');
    return `<section><h2>${service} <small>RTO ${escapeHtml(rto(s.rtoMs))} · ${s.failed} failed of ${s.requests} · max stall ${escapeHtml(ms(s.maxStallMs))}</small></h2>${errors ? `<p class="errors">failed: ${errors}</p>` : ''}
${renderChart({ title: `${service} timeline`, buckets: report.timeline.services[service], bucketMs: report.timeline.bucketMs, totalMs, faultAtMs, events, links })}
<ol class="markers">${chartMarkers({ faultAtMs, events, links })
      .map(
        (m) =>
          `<li style="color:${m.colour}"><span>${escapeHtml(m.label)} <small>${signedMs(m.atMs - faultAtMs)}</small></span></li>`,
      )
      .join('')}</ol></section>`;
  }).join('\n');

  const rows = SERVICES.map((name) => {
    const s = report.services[name];
    const entries = Object.entries(s.invariants);
    const broken = entries.filter(([, v]) => !v).map(([k]) => `<span class="bad">${escapeHtml(k)} ✘</span>`);
    const invariants =
      entries.length === 0
        ? ''
        : broken.length > 0
          ? broken.join(' ')
          : `<span class="good" title="${escapeHtml(entries.map(([k]) => k).join(', '))}">all ${entries.length} ✔</span>`;
    const prom = report.prometheus.available ? rto(report.prometheus.rtoMs?.[name] ?? null) : '—';
    return `<tr><td>${name}</td><td>${s.requests}</td><td>${s.failed}</td><td>${escapeHtml(rto(s.rtoMs))}</td><td>${escapeHtml(prom)}</td><td>${escapeHtml(ms(s.maxStallMs))}</td><td>${escapeHtml(ms(s.p99Ms))}</td><td>${s.ackedWrites}</td><td class="${s.lostAckedWrites > s.rpoLostWrites ? 'bad' : s.rpoLostWrites > 0 ? 'warn' : ''}">${escapeHtml(lostCell(s))}</td><td class="${s.duplicateWrites > 0 ? 'bad' : ''}">${s.duplicateWrites}</td><td>${invariants || '—'}</td><td>${s.failedOver ? 'yes' : 'no'}</td></tr>`;
  }).join('\n');

  const phases = Object.entries(report.phases)
    .map(
      ([name, p]) =>
        `<tr><td>${escapeHtml(name)}</td><td>${ms(p.detectMs)}</td><td>${ms(p.decideMs)}</td><td>${ms(p.promoteMs)}</td><td>${ms(p.routeMs)}</td></tr>`,
    )
    .join('\n');
  const reasons = report.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('');
  const checks = report.checks
    .map((c) => `<li class="${c.ok ? 'good' : 'bad'}">${escapeHtml(c.name)}: ${escapeHtml(c.detail)}</li>`)
    .join('');
  const rpo = rpoLines(report)
    .map((line) => `<li class="warn">${escapeHtml(line)}</li>`)
    .join('');
  const l = report.load;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Drill ${escapeHtml(report.scenario)}: ${report.verdict}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#222;line-height:1.4}
h1 .verdict{padding:2px 10px;border-radius:4px;color:#fff}.pass{background:#2e9e4f}.fail{background:#dc322f}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right;font-size:13px}
td:first-child,th:first-child{text-align:left}.good{color:#2e7d32}.bad{color:#c62828;font-weight:600}.warn{color:#b26a00;font-weight:600}
ol.markers{columns:3;font-size:12px;margin:0 0 18px;padding-left:28px}ol.markers span{color:#333}ol.markers small{color:#777}
p.errors{font-size:12px;color:#a33;margin:-8px 0 4px}
h2 small{font-weight:normal;color:#666;font-size:13px}section svg{max-width:100%;height:auto}
</style></head><body>
<h1>Drill ${escapeHtml(report.scenario)} <span class="verdict ${report.verdict}">${report.verdict.toUpperCase()}</span></h1>
<p>Expected: ${escapeHtml(report.expected)}<br>
Fault <code>${escapeHtml(report.fault.kind)}</code> on <code>${escapeHtml(report.fault.target)}</code> at ${escapeHtml(report.fault.injectedAt)}.<br>
Load (${l.source}, ${l.backend}): ${l.ratePerSec} req/s, ${escapeHtml(ms(l.warmupMs))} warm-up + ${escapeHtml(ms(l.durationMs))}, seed ${l.seed}; ${l.sent} sent, ${l.dropped} dropped.</p>
${reasons ? `<h2>Why it failed</h2><ul>${reasons}</ul>` : ''}
<table><tr><th>service</th><th>requests</th><th>failed</th><th>RTO</th><th>RTO (Prometheus)</th><th>max stall</th><th>p99</th><th>acked writes</th><th>lost</th><th>dup</th><th>invariants</th><th>failed over</th></tr>
${rows}</table>
${rpo ? `<h2>Data lost (RPO)</h2><ul>${rpo}</ul>` : ''}
${phases ? `<h2>Failover phases</h2><table><tr><th>service</th><th>detect</th><th>decide</th><th>promote</th><th>route</th></tr>${phases}</table>` : ''}
${report.prometheus.available ? '' : `<p>Prometheus cross-check unavailable: ${escapeHtml(report.prometheus.note ?? '')}</p>`}
${checks ? `<h2>Scenario checks</h2><ul>${checks}</ul>` : ''}
${charts}
</body></html>
`;
}

function signedMs(deltaMs: number): string {
  return deltaMs === 0 ? 'at the fault' : `${deltaMs > 0 ? '+' : '−'}${ms(Math.abs(deltaMs))}`;
}
