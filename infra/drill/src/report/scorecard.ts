// The terminal summary printed at the end of a drill.
import { type DrillReport, SERVICES } from '@failover-lab/contracts';
import { describeSteps } from '../phases';
import { lostCell, ms, rpoLines, rto } from './format';

export function renderScorecard(report: DrillReport, outDir: string): string {
  const header = [
    'service',
    'requests',
    'failed',
    'RTO',
    'RTO(prom)',
    'max stall',
    'acked',
    'lost',
    'dup',
    'invariants',
  ];
  const rows = SERVICES.map((name) => {
    const s = report.services[name];
    const broken = Object.entries(s.invariants).filter(([, v]) => !v);
    const prom = report.prometheus.available ? rto(report.prometheus.rtoMs?.[name] ?? null) : 'n/a';
    return [
      name,
      String(s.requests),
      String(s.failed),
      rto(s.rtoMs),
      prom,
      ms(s.maxStallMs),
      String(s.ackedWrites),
      lostCell(s),
      String(s.duplicateWrites),
      broken.length === 0 ? 'ok' : `BROKEN ${broken.map(([k]) => k).join(',')}`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const out = [
    '',
    `drill ${report.scenario}: ${report.verdict.toUpperCase()}  (fault ${report.fault.kind} ${report.fault.target})`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ];
  for (const [service, p] of Object.entries(report.phases)) {
    out.push(
      `phases ${service}: detect ${ms(p.detectMs)}, decide ${ms(p.decideMs)}, promote ${ms(p.promoteMs)}, route ${ms(p.routeMs)}`,
    );
    if (p.steps) out.push(`  steps: ${describeSteps(p.steps)}`);
  }
  for (const name of SERVICES) {
    const top = Object.entries(report.services[name].errors)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([what, count]) => `${what} ×${count}`);
    if (top.length > 0) out.push(`errors ${name}: ${top.join(', ')}`);
  }
  for (const line of rpoLines(report)) out.push(`rpo ${line}`);
  if (!report.prometheus.available) out.push(`prometheus: ${report.prometheus.note ?? 'unavailable'}`);
  for (const c of report.checks) out.push(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  for (const r of report.reasons) out.push(`reason: ${r}`);
  out.push(`load: ${report.load.sent} sent, ${report.load.dropped} dropped; report: ${outDir}/report.html`);
  return `${out.join('\n')}\n`;
}
