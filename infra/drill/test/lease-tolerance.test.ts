// Which failed retry-safe requests a freeze or a partition may have: none on the local lab (its lease
// settings hold or resend them all), the services it moves under compose (the contract's 3 s lease).
import { describe, expect, it } from 'vitest';
import { COMPOSE_LEASE_WAIT_OUTLASTS_CLIENT, composeLeaseWaitTolerated } from '../src/scenarios/common';
import type { Plan, ScenarioContext } from '../src/scenarios/scenario';

const plan: Plan = {
  fault: { kind: 'region_freeze', target: { region: 'dc-a' } },
  expectation: {
    failsOver: ['login', 'payments'],
    unaffected: [],
    retrySafeFailuresExpected: { payments: 'its own reason' },
  },
};
const on = (name: 'local' | 'compose') => ({ backend: { name } }) as unknown as ScenarioContext;

describe('composeLeaseWaitTolerated', () => {
  it('local lab: the plan as it is, strict', () => {
    expect(composeLeaseWaitTolerated(on('local'), plan)).toBe(plan);
  });

  it('compose: the moved services tolerated for the lease wait, a reason already given kept', () => {
    expect(composeLeaseWaitTolerated(on('compose'), plan).expectation.retrySafeFailuresExpected).toEqual({
      login: COMPOSE_LEASE_WAIT_OUTLASTS_CLIENT,
      payments: 'its own reason',
    });
  });
});
