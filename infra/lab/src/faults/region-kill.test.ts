// region_kill on real processes: every family of the region dies at once, the other region is
// untouched, and nothing of the killed region comes back by itself. (Its reset, region_restore,
// needs a data tier: test/lab.test.ts.)
import { describe, expect, it } from 'vitest';
import { useProcessLab } from '../../test/process-lab';
import { nodeComponents } from '../components';
import { isRunning, processFamily, sleep, spawnGroup, waitUntil } from '../process';
import { regionKill } from './region-kill';

const current = useProcessLab();

describe('region_kill', () => {
  it('SIGKILLs every process of every family, backends in sessions of their own included, before it answers', async () => {
    const lab = current();
    const pg = lab.start('dc-a', 'payments', 'postgres', { backend: true });
    const app = lab.start('dc-a', 'payments', 'app', { backend: true });
    const standby = lab.start('dc-b', 'payments', 'postgres', { backend: true });
    // the sleeper's children start a moment after it
    for (const entry of [pg, app])
      await waitUntil('its backends', async () => processFamily(entry.child.pid!).length === 3, 5_000, 10);
    const family = [...processFamily(pg.child.pid!), ...processFamily(app.child.pid!)];
    const outcome = await regionKill.apply(lab.ctx, { region: 'dc-a' });
    expect(outcome.affected.sort()).toEqual(['payments-dc-a-app', 'payments-dc-a-postgres']);
    expect(family.filter(isRunning)).toEqual([]);
    expect(lab.running(standby)).toBe(true);
  });

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

  it.each([
    ['dc-a', 'dies with the region and is not restarted'],
    ['edge', 'outlives the region'],
  ] as const)('a router placed at %s %s', async (placement, _outcome) => {
    const lab = current();
    lab.ctx.controlPlane = placement;
    // the router as the lab describes it, run as a harmless stand-in that the supervisor restarts on a crash
    const router = nodeComponents(lab.ctx).find((c) => c.kind === 'router')!;
    const sleeper = () =>
      spawnGroup({ command: 'sleep', args: ['600'], logFile: lab.ctx.paths.log('router') });
    const entry = lab.ctx.processes.track('router', 'router', sleeper(), {
      ...(router.region ? { region: router.region } : {}),
      logFile: router.logFile,
      respawn: sleeper,
    });
    const pg = lab.start('dc-a', 'payments', 'postgres');
    const outcome = await regionKill.apply(lab.ctx, { region: 'dc-a' });
    await lab.exited(pg);
    await sleep(600); // longer than the first restart backoff (250 ms)
    if (placement === 'edge') {
      expect(outcome.affected).toEqual(['payments-dc-a-postgres']);
      expect(lab.ctx.processes.state(entry)).toBe('up');
    } else {
      expect(outcome.affected.sort()).toEqual(['payments-dc-a-postgres', 'router']);
      expect(lab.ctx.processes.state(lab.ctx.processes.get('router'))).toBe('down');
      expect(lab.ctx.processes.get('router')).toBe(entry);
    }
  });
});
