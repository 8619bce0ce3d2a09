import { type DrillReport, SERVICES } from '@failover-lab/contracts';
import { describeSteps } from '../phases';
import { lostCell, ms, rpoLines, rto } from './format';

export function renderMarkdown(report: DrillReport): string {
  const lines: string[] = [];
  lines.push(`# Drill ${report.scenario}: ${report.verdict.toUpperCase()}`, '');
  lines.push(`Expected: ${report.expected}`, '');
  lines.push(`Fault \`${report.fault.kind}\` on \`${report.fault.target}\` at ${report.fault.injectedAt}.`);
  if (report.linkFaults && report.linkFaults.length > 0) {
    const faultMs = Date.parse(report.fault.injectedAt);
    lines.push('', 'Link faults on the timeline (ms after the fault):', '');
    for (const change of report.linkFaults) {
      const attributes = Object.entries(change.attributes ?? {})
        .map(([k, v]) => ` ${k}=${v}`)
        .join('');
      lines.push(
        `- +${Date.parse(change.at) - faultMs} ms \`${change.kind}\` ${change.target} ${change.direction ?? ''}${attributes}`,
      );
    }
  }
  if (report.steps && report.steps.length > 0) lines.push('', ...stepLines(report));
  const l = report.load;
  lines.push(
    `Load (${l.source}, backend ${l.backend}): ${l.ratePerSec} req/s for ${ms(l.durationMs)} after ${ms(l.warmupMs)} warm-up, ` +
      `seed ${l.seed}; ${l.sent} sent, ${l.dropped} dropped (max ${l.maxInFlight} in flight).`,
    '',
  );
  if (report.reasons.length > 0) {
    lines.push('## Why it failed', '', ...report.reasons.map((r) => `- ${r}`), '');
  }
  lines.push('## Per service', '');
  lines.push(
    '| service | requests | failed | RTO | max stall | p99 | acked writes | lost | duplicates | invariants | failed over |',
  );
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |');
  for (const name of SERVICES) {
    const s = report.services[name];
    const invariants = Object.entries(s.invariants)
      .map(([k, v]) => `${k} ${v ? '✔' : '✘'}`)
      .join(', ');
    lines.push(
      `| ${name} | ${s.requests} | ${s.failed} | ${rto(s.rtoMs)} | ${ms(s.maxStallMs)} | ${ms(s.p99Ms)} | ` +
        `${s.ackedWrites} | ${lostCell(s)} | ${s.duplicateWrites} | ${invariants || '—'} | ${s.failedOver ? 'yes' : 'no'} |`,
    );
  }
  const rpo = rpoLines(report);
  if (rpo.length > 0) lines.push('', '## Data lost (RPO)', '', ...rpo.map((l) => `- ${l}`));
  const errorLines = SERVICES.flatMap((n) =>
    Object.entries(report.services[n].errors).map(([what, count]) => `- ${n}: ${what} × ${count}`),
  );
  if (errorLines.length > 0) lines.push('', 'Failed requests by op and error:', '', ...errorLines);
  lines.push('', '## Failover phases (from the router events)', '');
  const phaseRows = Object.entries(report.phases);
  if (phaseRows.length === 0) lines.push('No service failed over.');
  else {
    lines.push('| service | detect | decide | promote | route |', '| --- | ---: | ---: | ---: | ---: |');
    for (const [name, p] of phaseRows) {
      lines.push(
        `| ${name} | ${ms(p.detectMs)} | ${ms(p.decideMs)} | ${ms(p.promoteMs)} | ${ms(p.routeMs)} |`,
      );
    }
    const breakdowns = phaseRows.filter(([, p]) => p.steps);
    if (breakdowns.length > 0) {
      lines.push(
        '',
        "Each promotion's steps (the promote call holds the cell's own steps; Redis runs beside pg_promote):",
        '',
      );
      for (const [name, p] of breakdowns) lines.push(`- ${name}: ${describeSteps(p.steps)}`);
    }
  }
  lines.push('', '## Prometheus cross-check', '');
  const prom = report.prometheus;
  if (!prom.available) lines.push(`Not available: ${prom.note ?? 'no Prometheus'}.`);
  else {
    lines.push(
      `RTO from \`router_requests_total\` by outcome (step ${ms(prom.stepMs)}), beside the ground truth:`,
      '',
    );
    lines.push('| service | ground truth | Prometheus |', '| --- | ---: | ---: |');
    for (const name of SERVICES) {
      lines.push(`| ${name} | ${rto(report.services[name].rtoMs)} | ${rto(prom.rtoMs?.[name] ?? null)} |`);
    }
    if (prom.note) lines.push('', prom.note);
  }
  if (report.quarantined && report.quarantined.length > 0) {
    lines.push('', '## Quarantined rows (exported from forked old primaries)', '');
    for (const q of report.quarantined) {
      lines.push(
        `- ${q.service} ${q.table} ${q.key}${q.acknowledged ? ' (acknowledged to the client)' : ''}: ${q.file}`,
      );
    }
  }
  if (report.checks.length > 0) {
    lines.push('', '## Scenario checks', '');
    for (const c of report.checks) lines.push(`- ${c.ok ? '✔' : '✘'} ${c.name}: ${c.detail}`);
  }
  const notes = SERVICES.flatMap((n) => report.services[n].notes.map((note) => `- ${n}: ${note}`));
  if (notes.length > 0) lines.push('', '## Notes', '', ...notes);
  lines.push('', '## Controller events', '');
  if (report.events.length === 0) lines.push('None.');
  for (const e of report.events) {
    lines.push(
      `- ${e.at} ${e.type} ${e.service ?? ''} ${e.region ?? ''}${e.epoch !== undefined ? ` epoch ${e.epoch}` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** One line per step of a chained drill, then its checks and any loss its audit found. */
function stepLines(report: DrillReport): string[] {
  const faultMs = Date.parse(report.fault.injectedAt);
  const lines = ['## Steps (each audited once it had settled)', ''];
  report.steps!.forEach((step, i) => {
    const took = Date.parse(step.settledAt) - Date.parse(step.fault.injectedAt);
    const audit = SERVICES.map((s) => {
      const a = step.audit[s];
      return a.audited ? `${s} ${a.lostAckedWrites} lost of ${a.ackedWrites}` : `${s} not read (no primary)`;
    }).join(', ');
    const promoted = Object.entries(step.phases)
      .filter(([, p]) => p.promoteMs !== null)
      .map(([s]) => s);
    lines.push(
      `${i + 1}. **${step.name}** (\`${step.fault.kind}\` ${step.fault.target}, +${Date.parse(step.fault.injectedAt) - faultMs} ms, ` +
        `settled in ${ms(took)})${promoted.length > 0 ? `; promoted: ${promoted.join(', ')}` : ''}; audit: ${audit}`,
    );
    for (const c of step.checks) lines.push(`   - ${c.ok ? '✔' : '✘'} ${c.name}: ${c.detail}`);
    for (const s of SERVICES) {
      const a = step.audit[s];
      if (a.lostSample.length > 0) lines.push(`   - ${s} lost: ${a.lostSample.join(', ')}`);
    }
  });
  return lines;
}
