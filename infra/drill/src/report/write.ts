import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DrillReport } from '@failover-lab/contracts';
import type { RequestRecord } from '../records';
import { renderHtml } from './html';
import { renderMarkdown } from './markdown';

/** report.json/md/html, plus every request record (records.jsonl: ids and statuses, no secrets). */
export async function writeReport(
  report: DrillReport,
  outDir: string,
  records: RequestRecord[] = [],
): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(outDir, 'report.md'), renderMarkdown(report));
  await writeFile(path.join(outDir, 'report.html'), renderHtml(report));
  if (records.length > 0) {
    await writeFile(
      path.join(outDir, 'records.jsonl'),
      `${records.map((r) => JSON.stringify(r)).join('\n')}\n`,
    );
  }
}
