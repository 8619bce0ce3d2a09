// Small formatting helpers shared by the terminal, Markdown and HTML renderings.
export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  return `${Math.round(value)} ms`;
}

export function rto(value: number | null): string {
  if (value === null) return 'never';
  return value === 0 ? '0 (no interruption)' : ms(value);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The "lost" cell: accepted async losses are marked as RPO, so a reader never mistakes them for none. */
export function lostCell(s: { lostAckedWrites: number; rpoLostWrites: number }): string {
  if (s.lostAckedWrites === 0) return '0';
  return s.rpoLostWrites === s.lostAckedWrites ? `${s.lostAckedWrites} (RPO)` : String(s.lostAckedWrites);
}

/** One sentence per service that lost writes as its accepted RPO (empty when none did). */
export function rpoLines(report: {
  services: Record<string, { rpoLostWrites: number; lostAckedBeforeFaultMs: number[]; lostSample: string[] }>;
  asyncWindowMs?: number;
}): string[] {
  return Object.entries(report.services)
    .filter(([, s]) => s.rpoLostWrites > 0)
    .map(([name, s]) => {
      const ages = s.lostAckedBeforeFaultMs.map((a) => (a >= 0 ? `${a} ms before` : `${-a} ms after`));
      return (
        `${name}: ${s.rpoLostWrites} acknowledged write(s) lost — the RPO of asynchronous replication: ` +
        `acknowledged ${ages.join(', ')} the fault, not yet on the standby when its region was lost ` +
        `(ids ${s.lostSample.join(', ')})`
      );
    });
}
