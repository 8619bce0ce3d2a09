// `npm run drill -- sync-async`: the same cell pair, load and region kill with payments replicating
// synchronously (the design: a transfer is acknowledged once dc-b has it) and asynchronously (acknowledged
// once dc-a has it). Side by side: what the client pays for each acknowledged transfer in steady state
// (p50/p99), and what the kill costs in acknowledged transfers lost (the RPO). Both arms are the
// ordinary region-kill drill, judged by the mode the router ran them in: sync may lose nothing, async
// only what was acknowledged in the last instant before the kill.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ComparisonArm, ComparisonReport } from '@failover-lab/contracts';
import type { DrillHooks, DrillOptions } from '../run';
import { drillArm, type StartArm, withArm } from './arm-lab';
import { type ArmPlan, judgeComparison } from './arms';
import { renderComparisonMarkdown } from './markdown';

export async function runSyncAsyncComparison(
  drill: DrillOptions,
  startArm: StartArm,
  hooks: DrillHooks = {},
): Promise<ComparisonReport> {
  const log = hooks.log ?? (() => {});
  const startedAtMs = Date.now();
  await mkdir(drill.outDir, { recursive: true });
  const options = { ...drill, scenario: 'region-kill' as const };
  const arms: ComparisonArm[] = [];
  const modes = [
    {
      mode: 'sync',
      adverb: 'synchronously',
      why: 'a transfer is acknowledged only once the dc-b standby has it: the kill may cost time, never an acknowledged transfer',
    },
    {
      mode: 'async',
      adverb: 'asynchronously',
      why: `a transfer is acknowledged once dc-a has it: faster, and the kill may lose what was acknowledged within ${drill.asyncWindowMs} ms before it (never older)`,
    },
  ] as const;
  for (const [i, { mode, adverb, why }] of modes.entries()) {
    const plan: ArmPlan = {
      name: `payments ${mode}`,
      dir: `payments-${mode}`,
      controlPlane: 'edge',
      expected: 'recovers',
      why,
    };
    log(`arm ${i + 1}/${modes.length}: payments replicating ${adverb}`);
    arms.push(
      await withArm(
        startArm,
        { controlPlane: 'edge', replication: { payments: mode } },
        { ...plan, outDir: drill.outDir, log },
        (lab) => drillArm(lab, options, hooks, plan),
      ),
    );
  }
  const report = judgeComparison('sync-async', arms, { startedAtMs, endedAtMs: Date.now() });
  await writeFile(path.join(drill.outDir, 'comparison.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(drill.outDir, 'comparison.md'), renderComparisonMarkdown(report));
  return report;
}
