// component_kill on real processes: an app alone is a crash the supervisor restarts in place; a data
// store stays dead; nothing else in the region is touched.
import { describe, expect, it } from 'vitest';
import { useProcessLab } from '../../test/process-lab';
import { waitUntil } from '../process';
import { componentKill } from './component-kill';

const current = useProcessLab();

describe('component_kill', () => {
  it('an app is restarted in place, with its restart counted', async () => {
    const lab = current();
    const app = lab.start('dc-a', 'messaging', 'app');
    const neighbour = lab.start('dc-a', 'messaging', 'postgres');
    const outcome = await componentKill.apply(lab.ctx, {
      region: 'dc-a',
      service: 'messaging',
      component: 'app',
    });
    expect(outcome.affected).toEqual(['messaging-dc-a-app']);
    await waitUntil('the app restarted', async () => lab.entry('dc-a', 'messaging', 'app') !== app, 5_000);
    const restarted = lab.entry('dc-a', 'messaging', 'app');
    expect(restarted.restarts).toBe(1);
    expect(lab.running(restarted)).toBe(true);
    expect(lab.running(neighbour)).toBe(true);
  });

  it("one service's Postgres dies and stays dead; the other services' do not notice", async () => {
    const lab = current();
    const payments = lab.start('dc-a', 'payments', 'postgres');
    const login = lab.start('dc-a', 'login', 'postgres');
    const outcome = await componentKill.apply(lab.ctx, {
      region: 'dc-a',
      service: 'payments',
      component: 'postgres',
    });
    expect(outcome.affected).toEqual(['payments-dc-a-postgres']);
    await lab.exited(payments);
    expect(lab.running(login)).toBe(true);
  });
});
