// switchover: the planned move, under load, of every service whose primary is in the region holding
// payments' primary (POST /admin/switchover per service, all at once). Zero loss by construction: the
// router holds the service's traffic, drains the old primary's writes, fences it, waits until the
// standby has replayed its last WAL position, and only then promotes. The pause is what it costs.
import { otherRegion, SERVICES, type ServiceName } from '@failover-lab/contracts';
import type { SwitchoverResult } from '../admin';
import { primaries, restoreAndSettle, servedByNewRegion } from './common';
import type { AnyPlan, Check, Operation, Scenario } from './scenario';

/** The drill's bound on one switchover (held traffic, drain, catch-up, promotion) on a busy machine. */
export const SWITCHOVER_BOUND_MS = 30_000;

interface SwitchoverPlan extends AnyPlan {
  fault: Operation;
}

/** What inject saw, for verify (one drill at a time runs a scenario). */
const answers = new Map<ServiceName, SwitchoverResult | Error>();

export const switchover: Scenario<SwitchoverPlan> = {
  name: 'switchover',
  summary: "planned switchover of every service in payments' primary region to the other region, under load",
  expected:
    'pass — each service moves (a new epoch, the old primary fenced) without losing or duplicating a single ' +
    "acknowledged write; requests wait during the pause, which the report gives per service (the router's hold). " +
    'On a starved machine a request that was already slow may still time out at the client: an error it was ' +
    'told, never a lost write',
  plan: async (ctx) => {
    const where = await primaries(ctx);
    const region = where.payments;
    const moved = SERVICES.filter((s) => where[s] === region);
    return {
      fault: { kind: 'switchover', target: { region } },
      expectation: { failsOver: moved, unaffected: [] },
    };
  },
  inject: async (ctx, plan) => {
    answers.clear();
    const to = otherRegion(plan.fault.target.region);
    await Promise.all(
      plan.expectation.failsOver.map(async (service) => {
        const answer = await ctx.admin
          .switchover(service, to, SWITCHOVER_BOUND_MS)
          .catch((err: Error) => err);
        answers.set(service, answer);
        ctx.log(
          answer instanceof Error
            ? `${service}: switchover failed: ${answer.message}`
            : `${service}: switched to ${to} at epoch ${answer.epoch}, traffic held ${answer.ms} ms`,
        );
      }),
    );
  },
  verify: async (ctx, plan, input) => {
    const old = plan.fault.target.region;
    const checks: Check[] = plan.expectation.failsOver.map((service) => {
      const answer = answers.get(service);
      return {
        name: `${service} switched over (pause)`,
        ok: answer !== undefined && !(answer instanceof Error),
        detail:
          answer === undefined
            ? 'no answer'
            : answer instanceof Error
              ? answer.message
              : `${answer.from} → ${answer.to} at epoch ${answer.epoch}, traffic held ${answer.ms} ms`,
      };
    });
    checks.push(...servedByNewRegion(plan, input));
    for (const service of plan.expectation.failsOver) {
      const state = await ctx.admin.cellState(service, old);
      checks.push({
        name: `${service} old primary ${old} fenced`,
        ok: state !== null && (state.fenced || state.role !== 'primary'),
        detail: state ? `role ${state.role}, fenced ${state.fenced}, epoch ${state.epoch}` : 'not answering',
      });
    }
    return checks;
  },
  // The old primary is fenced, not a standby: rebuild it as one (nothing forked, so nothing quarantined).
  reset: (ctx, plan) => restoreAndSettle(ctx, plan.fault.target.region),
};
