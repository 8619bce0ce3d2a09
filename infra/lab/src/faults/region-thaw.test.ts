// region_thaw on real processes: an app that crashed just before its region froze must not restart
// inside the frozen region; the thaw starts it.
import { describe, expect, it } from 'vitest';
import { useProcessLab } from '../../test/process-lab';
import { sleep, waitUntil } from '../process';
import { componentKill } from './component-kill';
import { regionFreeze } from './region-freeze';
import { regionThaw } from './region-thaw';

const current = useProcessLab();

describe('region_thaw', () => {
  it('restarts an app whose restart the freeze held back, and resumes the rest', async () => {
    const lab = current();
    const app = lab.start('dc-a', 'payments', 'app');
    const pg = lab.start('dc-a', 'payments', 'postgres');
    await componentKill.apply(lab.ctx, { region: 'dc-a', service: 'payments', component: 'app' });
    // inside the 250 ms restart backoff
    await regionFreeze.apply(lab.ctx, { region: 'dc-a' });
    await sleep(600);
    expect(lab.entry('dc-a', 'payments', 'app')).toBe(app);
    const outcome = await regionThaw.apply(lab.ctx, { region: 'dc-a' });
    expect(outcome.affected.sort()).toEqual(['payments-dc-a-app', 'payments-dc-a-postgres']);
    await waitUntil('the app restarted', async () => lab.entry('dc-a', 'payments', 'app') !== app, 5_000);
    expect(lab.running(lab.entry('dc-a', 'payments', 'app'))).toBe(true);
    expect(lab.running(pg)).toBe(true);
  });

  it('a region that is not frozen is left alone', async () => {
    const lab = current();
    const pg = lab.start('dc-a', 'payments', 'postgres');
    expect((await regionThaw.apply(lab.ctx, { region: 'dc-a' })).affected).toEqual([]);
    expect(lab.running(pg)).toBe(true);
  });
});
