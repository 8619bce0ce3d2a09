// The live progress line: elapsed, offered rate, ok/failed per service, dropped arrivals.
import { SERVICES, type ServiceName } from '@failover-lab/lab';
import type { OpenModelSummary } from './load/open-model';
import type { RequestRecord } from './records';

export class ProgressTally {
  private readonly counts = Object.fromEntries(SERVICES.map((s) => [s, { ok: 0, failed: 0 }])) as Record<
    ServiceName,
    { ok: number; failed: number }
  >;

  add(record: RequestRecord): void {
    if (record.ok) this.counts[record.service].ok++;
    else this.counts[record.service].failed++;
  }

  line(scenario: string, summary: OpenModelSummary, phase: string): string {
    const seconds = summary.elapsedMs / 1000;
    const rate = seconds > 0 ? Math.round(summary.sent / seconds) : 0;
    const services = SERVICES.map((s) => `${s} ${this.counts[s].ok} ok/${this.counts[s].failed} failed`).join(
      ' | ',
    );
    return `[${scenario}] ${seconds.toFixed(1)}s ${phase} ${rate} req/s | ${services} | dropped ${summary.dropped}`;
  }
}

/**
 * On a terminal the line rewrites itself; elsewhere (CI, tests) one line every few seconds, or every
 * DRILL_PROGRESS_EVERY_MS (the lab console reads the lines for its live progress).
 */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr, env = process.env) {
  const every = Number(env.DRILL_PROGRESS_EVERY_MS);
  const intervalMs = Number.isInteger(every) && every >= 100 ? every : 5_000;
  let lastPrinted = 0;
  return {
    update(line: string) {
      if (stream.isTTY)
        stream.write(`\r${line.slice(0, (stream.columns ?? 160) - 1).padEnd((stream.columns ?? 160) - 1)}`);
      else if (Date.now() - lastPrinted >= intervalMs) {
        lastPrinted = Date.now();
        stream.write(`${line}\n`);
      }
    },
    done() {
      if (stream.isTTY) stream.write('\n');
    },
  };
}
