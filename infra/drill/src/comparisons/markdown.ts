// comparison.md and the terminal summary: the arms side by side, one column each.
import {
  type ArmService,
  type ComparisonArm,
  type ComparisonReport,
  REPLICATION_MODE,
  SERVICES,
} from '@failover-lab/contracts';
import { ms, rto } from '../report/format';

const outcomeWords = { recovers: 'recovers', 'stays-down': 'stays down' } as const;

const latency = (l: ArmService['ackedWriteLatency']) =>
  l ? `${l.p50Ms} / ${l.p99Ms} ms (${l.samples})` : '—';

function table(report: ComparisonReport): string[] {
  const arms = report.arms;
  const header = ['', ...arms.map((a) => a.name)];
  const row = (label: string, cell: (a: ComparisonArm) => string) => [label, ...arms.map(cell)];
  const rows = [
    row('expected', (a) => outcomeWords[a.expected]),
    row('observed', (a) => outcomeWords[a.observed]),
    row('met', (a) => (a.met ? 'yes' : a.error ? 'NO (did not finish)' : 'NO')),
    row('fault', (a) => `${a.fault.kind} ${a.fault.target}`),
    row('replication', (a) =>
      SERVICES.map((s) => `${s} ${a.services[s].replication ?? REPLICATION_MODE[s]}`).join(', '),
    ),
    row('watched after the fault', (a) => ms(a.watchedMs)),
    row('watched until', (a) => a.watchedUntil),
    ...SERVICES.flatMap((s) => [
      row(`${s}: RTO`, (a) => rto(a.services[s].rtoMs)),
      row(`${s}: ok after fault`, (a) => `${a.services[s].okAfterFault} / ${a.services[s].afterFault}`),
      row(`${s}: failed over`, (a) => (a.services[s].failedOver ? 'yes' : 'no')),
      row(`${s}: acked write p50 / p99 (before the fault)`, (a) => latency(a.services[s].ackedWriteLatency)),
      row(
        `${s}: acked writes lost`,
        (a) =>
          `${a.services[s].lostAckedWrites} of ${a.services[s].ackedWrites} (${a.services[s].auditedOn})`,
      ),
    ]),
    row('load average (1 min)', (a) => `${a.loadAverage.start} → ${a.loadAverage.end}`),
  ];
  const line = (cells: string[]) => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)];
}

export function renderComparisonMarkdown(report: ComparisonReport): string {
  const out = [
    `# Drill comparison ${report.comparison}: ${report.verdict.toUpperCase()}`,
    '',
    `${report.startedAt} → ${report.endedAt}. Each arm has its own expected outcome; the comparison passes when every arm meets it.`,
    '',
    ...table(report),
    '',
  ];
  for (const arm of report.arms) {
    out.push(
      `## ${arm.name}`,
      '',
      `Expected to ${arm.expected === 'recovers' ? 'recover' : 'stay down'}: ${arm.why}.`,
      '',
    );
    if (arm.error)
      out.push(
        `**Did not finish**: ${arm.error}. Its figures above are empty.${arm.labLogs ? ` Its lab's logs: [${arm.labLogs}](${arm.labLogs}).` : ''}`,
        '',
      );
    if (arm.report) out.push(`Its full drill report: [${arm.report}](${arm.report}).`, '');
    for (const c of arm.checks) out.push(`- ${c.ok ? 'ok' : '**FAIL**'} ${c.name}: ${c.detail}`);
    for (const r of arm.reasons) out.push(`- reason: ${r}`);
    if (arm.operatorSteps.length > 0) {
      out.push('', 'What an operator has to do before anything is served again:', '');
      arm.operatorSteps.forEach((step, i) => {
        out.push(`${i + 1}. ${step}`);
      });
    }
    out.push('');
  }
  if (report.reasons.length > 0) out.push('## Why it failed', '', ...report.reasons.map((r) => `- ${r}`), '');
  return `${out.join('\n')}\n`;
}

/** The terminal summary printed at the end of a comparison. */
export function renderComparisonScorecard(report: ComparisonReport, outDir: string): string {
  const out = ['', `drill ${report.comparison}: ${report.verdict.toUpperCase()}`, ...table(report)];
  for (const r of report.reasons) out.push(`reason: ${r}`);
  out.push(`report: ${outDir}/comparison.md`);
  return `${out.join('\n')}\n`;
}
