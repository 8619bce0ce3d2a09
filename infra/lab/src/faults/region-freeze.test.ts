// region_freeze on real processes: every process of the region (children too) is stopped before the
// call returns; its reset (region_thaw) resumes them.
import { describe, expect, it } from 'vitest';
import { useProcessLab } from '../../test/process-lab';
import { regionFreeze } from './region-freeze';

const current = useProcessLab();

describe('region_freeze', () => {
  it('stops every family of the region at once; reset resumes them', async () => {
    const lab = current();
    const pg = lab.start('dc-b', 'login', 'postgres');
    const redis = lab.start('dc-b', 'login', 'redis');
    const other = lab.start('dc-a', 'login', 'postgres');
    const outcome = await regionFreeze.apply(lab.ctx, { region: 'dc-b' });
    expect(outcome.affected.sort()).toEqual(['login-dc-b-postgres', 'login-dc-b-redis']);
    expect([lab.stopped(pg), lab.stopped(redis), lab.running(other)]).toEqual([true, true, true]);
    const reset = await regionFreeze.reset(lab.ctx, { region: 'dc-b' });
    expect(reset.affected.sort()).toEqual(['login-dc-b-postgres', 'login-dc-b-redis']);
    expect([lab.running(pg), lab.running(redis)]).toEqual([true, true]);
  });
});
