// db-kill: SIGKILL only payments' primary Postgres (component_kill). Each service fails over on its own: payments moves,
// login and messaging (same region, own databases) must not notice.
// login-db-kill: the same on login, the dependency every signed-in request carries: payments and
// messaging check login's tokens against its published keys (JWT_JWKS) themselves, so losing login's
// database costs sign-ins for a moment, never a transfer or a message.
import { SERVICES, type ServiceName } from '@failover-lab/contracts';
import { evacuateAndRestore, primaries, servedByNewRegion } from './common';
import type { Scenario, ScenarioName } from './scenario';

function dbKillOf(service: ServiceName, name: ScenarioName, expected: string): Scenario {
  return {
    name,
    summary: `kill ${service}' primary Postgres (postmaster and children) only`,
    expected,
    plan: async (ctx) => {
      const region = (await primaries(ctx))[service];
      return {
        fault: { kind: 'component_kill', target: { region, service, component: 'postgres' } },
        expectation: { failsOver: [service], unaffected: SERVICES.filter((s) => s !== service) },
      };
    },
    inject: (ctx, plan) => ctx.backend.faults.apply(plan.fault),
    verify: async (_ctx, plan, input) => servedByNewRegion(plan, input),
    reset: (ctx, plan) => evacuateAndRestore(ctx, plan.fault.target.region),
  };
}

export const dbKill = dbKillOf(
  'payments',
  'db-kill',
  'pass — payments fails over to its standby and loses nothing; login and messaging do not fail over and ' +
    'no request of theirs fails',
);

export const loginDbKill = dbKillOf(
  'login',
  'login-db-kill',
  'pass — login fails over to its standby; payments and messaging, which verify login tokens with its ' +
    'public keys themselves, do not fail over and no request of theirs fails',
);
