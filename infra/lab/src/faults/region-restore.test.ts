// region_restore's first rule, on real processes: it refuses while the other region is frozen (a
// frozen node may have been promoted; guessing could make two primaries). Rebuilding cells needs a
// data tier: test/lab.test.ts restores real Postgres and Redis.
import { SERVICES } from '@failover-lab/contracts';
import { describe, expect, it } from 'vitest';
import { useProcessLab } from '../../test/process-lab';
import { regionFreeze } from './region-freeze';
import { regionRestore } from './region-restore';

const current = useProcessLab();

describe('region_restore', () => {
  it('refuses to restore a region while the other one is frozen, and touches nothing', async () => {
    const lab = current();
    const frozen = SERVICES.map((service) => lab.start('dc-b', service, 'postgres'));
    const here = lab.start('dc-a', 'payments', 'redis');
    await regionFreeze.apply(lab.ctx, { region: 'dc-b' });
    await expect(regionRestore.apply(lab.ctx, { region: 'dc-a' })).rejects.toThrow(
      /dc-b is frozen; thaw it before restoring dc-a/,
    );
    expect(frozen.every(lab.stopped)).toBe(true);
    expect(lab.running(here)).toBe(true);
  });
});
