// region_kill on real processes: every family of the region dies at once, the other region is
// untouched, and nothing of the killed region comes back by itself. (Its reset, region_restore,
// needs a data tier: test/lab.test.ts.)
import { describe, expect, it } from 'vitest';
import { useProcessLab } from '../../test/process-lab';
import { sleep } from '../process';
import { regionKill } from './region-kill';

const current = useProcessLab();

describe('region_kill', () => {
  it('kills every process of the region, and only of that region; apps stay dead', async () => {
    const lab = current();
    const pg = lab.start('dc-a', 'payments', 'postgres');
    const app = lab.start('dc-a', 'payments', 'app');
    const standby = lab.start('dc-b', 'payments', 'postgres');
    const outcome = await regionKill.apply(lab.ctx, { region: 'dc-a' });
    expect(outcome.affected.sort()).toEqual(['payments-dc-a-app', 'payments-dc-a-postgres']);
    await Promise.all([lab.exited(pg), lab.exited(app)]);
    expect(lab.running(standby)).toBe(true);
    await sleep(600); // longer than the first restart backoff (250 ms)
    expect(lab.entry('dc-a', 'payments', 'app')).toBe(app);
  });
});
