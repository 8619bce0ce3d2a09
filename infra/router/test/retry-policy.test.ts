// The data plane's retry rules, as a table: where a request stands → what the proxy does next.
import { describe, expect, it } from 'vitest';
import { ABORTED_CELL_DOWN, nextStep, type Situation, type Step } from '../src/proxy/retry-policy';

const route = (o: Partial<Extract<Situation, { at: 'route' }>> = {}): Situation => ({
  at: 'route',
  serving: true,
  newer: true,
  write: false,
  refuseWrites: false,
  waited: false,
  ...o,
});
const error = (o: Partial<Extract<Situation, { at: 'error' }>> = {}): Situation => ({
  at: 'error',
  safe: true,
  notSent: false,
  timeout: false,
  code: 'ECONNRESET',
  lastTry: false,
  ...o,
});
const response = (status: number, o: Partial<Extract<Situation, { at: 'response' }>> = {}): Situation => ({
  at: 'response',
  status,
  safe: true,
  lastTry: false,
  bufferable: true,
  ...o,
});

describe('nextStep(): when the router sends a request, waits, resends or fails', () => {
  it.each<[string, Situation, Step]>([
    ['a serving primary: send', route(), { do: 'send' }],
    [
      'no primary, a request not yet sent (any route, a sign-in too): wait for one',
      route({ serving: false, write: true }),
      { do: 'wait_for_primary' },
    ],
    [
      'the route it failed on, not newer: wait for a newer one',
      route({ newer: false }),
      { do: 'wait_for_primary' },
    ],
    [
      'waited the hold time, still no primary',
      route({ serving: false, waited: true }),
      {
        do: 'fail',
        code: 'ROUTER_ERR_NO_PRIMARY',
        outcome: 'no_primary',
        message: 'no primary within the hold time',
      },
    ],
    [
      'strict sync without a standby: writes refused, reads served',
      route({ write: true, refuseWrites: true }),
      { do: 'fail', code: 'ROUTER_ERR_SYNC_STANDBY_LOST', outcome: 'sync_standby_lost' },
    ],
    ['strict sync without a standby, a read: send', route({ refuseWrites: true }), { do: 'send' }],
    ['a safe request reset by the cell: ask the prober', error(), { do: 'recheck' }],
    [
      'an unsafe request that never connected: may be sent again',
      error({ safe: false, notSent: true, code: 'ECONNREFUSED' }),
      { do: 'recheck' },
    ],
    [
      'an unsafe request reset after it was sent: never twice',
      error({ safe: false }),
      {
        do: 'fail',
        code: 'ROUTER_ERR_NO_PRIMARY',
        outcome: 'connection_error',
        message: 'primary unreachable (ECONNRESET)',
      },
    ],
    [
      'an unsafe request that timed out: 504',
      error({ safe: false, timeout: true, code: 'UND_ERR_HEADERS_TIMEOUT' }),
      { do: 'fail', code: 'ROUTER_ERR_UPSTREAM_TIMEOUT', outcome: 'timeout' },
    ],
    [
      'a safe request out of attempts',
      error({ lastTry: true }),
      {
        do: 'fail',
        code: 'ROUTER_ERR_NO_PRIMARY',
        outcome: 'connection_error',
        message: 'primary unreachable (ECONNRESET)',
      },
    ],
    [
      'cut loose from a cell confirmed down: resend on a newer route, no recheck',
      error({ code: ABORTED_CELL_DOWN }),
      { do: 'resend', newerRoute: true },
    ],
    [
      'the prober finds the cell down after an error',
      { at: 'recheck', verdict: 'down', after: 'error' },
      { do: 'resend', newerRoute: true },
    ],
    [
      'the prober finds the cell up after an error',
      { at: 'recheck', verdict: 'up', after: 'error' },
      { do: 'resend', newerRoute: false },
    ],
    ['an answer below 500: hand it over', response(409), { do: 'deliver' }],
    ['a 5xx on a safe request: ask the prober first', response(503), { do: 'recheck' }],
    ['a 5xx on an unsafe request: hand it over', response(503, { safe: false }), { do: 'deliver' }],
    ['a 5xx on the last try: hand it over', response(500, { lastTry: true }), { do: 'deliver' }],
    [
      'a 5xx too big to hold (or an event stream): hand it over',
      response(502, { bufferable: false }),
      { do: 'deliver' },
    ],
    [
      'the prober finds the cell down after a 5xx: resend elsewhere',
      { at: 'recheck', verdict: 'down', after: 'response' },
      { do: 'resend', newerRoute: true },
    ],
    [
      'the cell is up after a 5xx: its 5xx is the answer',
      { at: 'recheck', verdict: 'up', after: 'response' },
      { do: 'deliver_buffered' },
    ],
    [
      'the 5xx body was lost while held: resend elsewhere',
      { at: 'recheck', verdict: 'up', after: 'response', bodyLost: true },
      { do: 'resend', newerRoute: true },
    ],
  ])('%s', (_name, situation, step) => {
    expect(nextStep(situation)).toEqual(step);
  });
});
