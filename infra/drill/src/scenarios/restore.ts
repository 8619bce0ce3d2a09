// restore: after a region loss (prepared before the load, not measured), bring the old region
// back as standby under load: it must rejoin without disturbing the new primaries, and sync returns.
import { SERVICES } from '@failover-lab/contracts';
import { steadyStateProblems } from '../steady-state';
import { primaries, waitForEvents } from './common';
import type { Scenario } from './scenario';

const SETTLE_MS = 30_000;

export const restore: Scenario = {
  name: 'restore',
  summary: 'after a region kill, restore the old region as standby under load',
  expected:
    'pass — the restored region rejoins as standby of every service, payments replicates synchronously again, ' +
    'and no service fails over or loses a write while it happens',
  plan: async (ctx) => {
    const region = (await primaries(ctx)).payments;
    return {
      fault: { kind: 'region_restore', target: { region } },
      expectation: { failsOver: [], unaffected: SERVICES.filter((s) => s !== 'payments') },
    };
  },
  prepare: async (ctx, plan) => {
    const region = plan.fault.target.region;
    const since = Date.now();
    ctx.log(`prepare: killing ${region} and waiting for every service to fail over`);
    const where = await primaries(ctx);
    const moved = SERVICES.filter((s) => where[s] === region);
    await ctx.backend.faults.apply({ kind: 'region_kill', target: { region } });
    if (!(await waitForEvents(ctx, 'routed', moved, since, Date.now() + SETTLE_MS))) {
      throw new Error(`prepare: not every service failed over from ${region} within ${SETTLE_MS} ms`);
    }
  },
  inject: (ctx, plan) => ctx.backend.faults.apply(plan.fault),
  verify: async (ctx) => {
    const deadline = Date.now() + SETTLE_MS;
    let problems = await steadyStateProblems(ctx.admin);
    while (problems.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      problems = await steadyStateProblems(ctx.admin);
    }
    return [
      {
        name: 'back to sync: every service has a streaming standby, payments synchronous',
        ok: problems.length === 0,
        detail: problems.length === 0 ? 'steady state reached' : problems.join('; '),
      },
    ];
  },
  reset: async () => {},
};
