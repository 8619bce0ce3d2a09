import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderHtml } from './html';
import { renderMarkdown } from './markdown';
import type { DrillReport } from './types';

export async function writeReport(report: DrillReport, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(outDir, 'report.md'), renderMarkdown(report));
  await writeFile(path.join(outDir, 'report.html'), renderHtml(report));
}
