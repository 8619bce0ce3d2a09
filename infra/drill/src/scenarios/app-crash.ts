// app-crash: SIGKILL one app process (component_kill) (messaging, in the primary region). Its supervisor restarts it in
// place within seconds; a crashed process is not a lost region, so nothing fails over.
import { SERVICES } from '@failover-lab/contracts';
import { waitForSteadyState } from '../steady-state';
import { evacuateAndRestore, primaries } from './common';
import type { Scenario } from './scenario';

export const appCrash: Scenario = {
  name: 'app-crash',
  summary: "kill messaging's app process in the primary region",
  expected:
    'pass — the supervisor restarts the app, messaging recovers without a failover, login and payments are unaffected',
  plan: async (ctx) => {
    const region = (await primaries(ctx)).messaging;
    return {
      fault: { kind: 'component_kill', target: { region, service: 'messaging', component: 'app' } },
      expectation: {
        failsOver: [],
        unaffected: SERVICES.filter((s) => s !== 'messaging'),
        retrySafeFailuresExpected: {
          messaging:
            'its only app is restarting in place: nothing listens until it is back, and a crashed app is not ' +
            'a lost region, so there is no other primary to hold or resend its requests for',
        },
      },
    };
  },
  inject: (ctx, plan) => ctx.backend.faults.apply(plan.fault),
  verify: async (ctx, plan) => {
    const state = await ctx.admin.cellState('messaging', plan.fault.target.region);
    return [
      {
        name: 'messaging app restarted in place',
        ok: state?.role === 'primary',
        detail: state ? `role ${state.role}, epoch ${state.epoch}` : 'not answering',
      },
    ];
  },
  // Normally nothing to do (the supervisor restarted it). If the router failed over anyway, the old
  // primary is fenced: rebuild that region as standby.
  reset: async (ctx, plan) => {
    try {
      await waitForSteadyState(ctx.admin, 20_000);
    } catch {
      await evacuateAndRestore(ctx, plan.fault.target.region);
    }
  },
};
