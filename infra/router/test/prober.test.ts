// The prober with a scripted probe function: each probe waits until the test answers it, so the order
// of "probe started", "data plane asked", "probe answered" is set by the test, not by timers.
import { DEADLINE_HEADER, EPOCH_HEADER, LEASE_DEADLINE_HEADER, LEASE_HEADER } from '@failover-lab/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProbeConfig } from '../src/config';
import type { ProbeResult } from '../src/health/cell-health';
import type { PostgresVerdict } from '../src/health/postgres-probe';
import { Prober } from '../src/health/prober';
import { ready } from './fixtures/snapshots';
import { waitFor } from './helpers/wait';

const CONFIG: ProbeConfig = {
  intervalMs: 10,
  timeoutMs: 500,
  fall: 3,
  // hard evidence off here (as many as `fall`): these cases are about timing, hard evidence has its own
  hardFall: 3,
  rise: 2,
  // leases granted until confirmed down here (as many as `fall`); leaseFall has its own cases
  leaseFall: 3,
  // passive suspicion off here; it has its own cases
  silenceMs: 0,
  // passive confirmation off here; it has its own cases
  confirmSilenceMs: 0,
  confirmFall: 2,
  burstIntervalMs: 5,
  startupGraceMs: 0,
  postgresPort: 5432,
};

/** A probe function whose every call stays pending until the test answers it. */
function scriptedProbe() {
  const pending: Array<(result: ProbeResult) => void> = [];
  return {
    pending,
    fn: (_url: string, _timeoutMs: number) =>
      new Promise<ProbeResult>((resolve) => {
        pending.push(resolve);
      }),
    /** wait for the next probe to be in flight, then answer it */
    async answer(ok: boolean, error = 'ECONNREFUSED') {
      await waitFor('a probe in flight', () => pending.length > 0, 5_000, 1);
      pending.shift()!({
        ok,
        at: Date.now(),
        ms: 1,
        ready: ok ? ready() : null,
        error: ok ? null : error,
      });
    },
  };
}

let prober: Prober | null = null;
afterEach(async () => {
  await prober?.stop();
  prober = null;
});

function startProber(
  probe: ReturnType<typeof scriptedProbe>,
  config: ProbeConfig = CONFIG,
  // its Postgres is gone too: a region loss, not an app crash
  postgres: () => Promise<PostgresVerdict> = async () => 'refused',
) {
  prober = new Prober(
    [{ service: 'messaging', region: 'dc-a', url: 'http://127.0.0.1:1' }],
    config,
    probe.fn,
    postgres,
  );
  prober.start();
  return prober;
}

/** The scripted cell answers one probe and the prober marks it up. */
async function upThen(probe: ReturnType<typeof scriptedProbe>, p: Prober) {
  await probe.answer(true);
  await waitFor('cell up', () => p.health('messaging', 'dc-a').status === 'up', 5_000, 1);
}

describe('Prober.recheck', () => {
  it('is not answered "up" by a probe that was already in flight when the data plane asked', async () => {
    const probe = scriptedProbe();
    const p = startProber(probe);
    await probe.answer(true);
    await waitFor('cell up', () => p.health('messaging', 'dc-a').status === 'up', 5_000, 1);

    // A probe leaves, then the cell dies, then a proxied request to it fails and the data plane asks.
    await waitFor('a probe in flight', () => probe.pending.length > 0, 5_000, 1);
    let verdict: 'up' | 'down' | null = null;
    void p.recheck('messaging', 'dc-a').then((v) => {
      verdict = v;
    });
    // The probe that left before the death answers "ok" (the cell answered just before it died).
    await probe.answer(true);
    // Every probe sent after the death fails.
    for (let i = 0; i < CONFIG.fall; i++) await probe.answer(false);
    await waitFor('a verdict', () => verdict, 5_000, 1);
    expect(verdict).toBe('down');
    expect(p.health('messaging', 'dc-a').status).toBe('down');
  });

  it('answers "up" at the first good probe sent after the question', async () => {
    const probe = scriptedProbe();
    const p = startProber(probe);
    await probe.answer(true);
    await waitFor('cell up', () => p.health('messaging', 'dc-a').status === 'up', 5_000, 1);

    await waitFor('a probe in flight', () => probe.pending.length > 0, 5_000, 1);
    let verdict: 'up' | 'down' | null = null;
    void p.recheck('messaging', 'dc-a').then((v) => {
      verdict = v;
    });
    await probe.answer(false); // in flight before the question, and failed: no verdict yet
    await probe.answer(true); // sent after the question: the cell answers
    await waitFor('a verdict', () => verdict, 5_000, 1);
    expect(verdict).toBe('up');
  });
});

describe('hard evidence (hardFall)', () => {
  const HARD: ProbeConfig = { ...CONFIG, hardFall: 1 };

  it('app refused and its Postgres refused: down at the first such probe, its Postgres asked at once', async () => {
    const probe = scriptedProbe();
    const asked: number[] = [];
    const p = startProber(probe, HARD, async () => {
      asked.push(p.health('messaging', 'dc-a').consecutiveFailures);
      return 'refused';
    });
    await upThen(probe, p);
    await probe.answer(false, 'ECONNREFUSED');
    await waitFor('down', () => p.health('messaging', 'dc-a').status === 'down', 5_000, 1);
    expect(p.health('messaging', 'dc-a')).toMatchObject({ consecutiveFailures: 1, consecutiveGone: 1 });
    expect(asked[0]).toBe(0); // asked on the first failure, not from the second on
  });

  it('app refused but its Postgres answers (an app crash): only `fall` failures confirm it', async () => {
    const probe = scriptedProbe();
    const p = startProber(probe, HARD, async () => 'alive');
    await upThen(probe, p);
    await probe.answer(false, 'ECONNREFUSED');
    await probe.answer(false, 'ECONNREFUSED');
    await waitFor('second failure', () => p.health('messaging', 'dc-a').consecutiveFailures === 2, 5_000, 1);
    expect(p.health('messaging', 'dc-a')).toMatchObject({ status: 'suspect', dataTierAlive: true });
    await probe.answer(false, 'ECONNREFUSED');
    await waitFor('down', () => p.health('messaging', 'dc-a').status === 'down', 5_000, 1);
  });

  it('a timed-out app whose Postgres is silent (slow, not gone) needs `fall` failures', async () => {
    const probe = scriptedProbe();
    const p = startProber(probe, HARD, async () => 'silent');
    await upThen(probe, p);
    await probe.answer(false, 'TimeoutError');
    await probe.answer(false, 'TimeoutError');
    await waitFor('second failure', () => p.health('messaging', 'dc-a').consecutiveFailures === 2, 5_000, 1);
    expect(p.health('messaging', 'dc-a').status).toBe('suspect');
    await probe.answer(false, 'TimeoutError');
    await waitFor('down', () => p.health('messaging', 'dc-a').status === 'down', 5_000, 1);
  });

  it('a first timeout does not ask the Postgres (a slow link is not judged faster)', async () => {
    const probe = scriptedProbe();
    // failures the cell had when its Postgres was asked: 0 would be the first probe asking at once
    const askedAt: number[] = [];
    const p = startProber(probe, HARD, async () => {
      askedAt.push(p.health('messaging', 'dc-a').consecutiveFailures);
      return 'refused';
    });
    await upThen(probe, p);
    await probe.answer(false, 'TimeoutError');
    await waitFor('first failure', () => p.health('messaging', 'dc-a').consecutiveFailures === 1, 5_000, 1);
    expect(askedAt).not.toContain(0);
    expect(p.health('messaging', 'dc-a').status).toBe('suspect');
  });
});

describe('Prober: the leases of probes', () => {
  it('counts a probe’s grant when it leaves, before any answer, and stops granting after leaseFall losses', async () => {
    const probe = scriptedProbe();
    const sent: Array<Record<string, string> | undefined> = [];
    const fn = probe.fn;
    probe.fn = (url, timeoutMs, headers?: Record<string, string>) => {
      sent.push(headers);
      return fn(url, timeoutMs);
    };
    const p = new Prober(
      [{ service: 'messaging', region: 'dc-a', url: 'http://127.0.0.1:1' }],
      { ...CONFIG, leaseFall: 2 },
      probe.fn,
      async () => 'alive', // a frozen cell: its Postgres accepts, nothing refuses
    );
    prober = p;
    const leaseMs = 60_000; // far beyond the timings of the test: the bound is only moved by grants
    p.grantLeases(() => ({ epoch: 4, leaseMs }), 0);
    p.start();
    await waitFor('a probe in flight', () => probe.pending.length > 0, 5_000, 1);
    // in flight, unanswered: the cell may already have read it, so it counts now
    const deadline = Number(sent[0]![DEADLINE_HEADER]);
    expect(p.health('messaging', 'dc-a').leaseGrantedUntil).toBe(deadline + leaseMs);
    await probe.answer(true);
    await probe.answer(false, 'TimeoutError');
    await probe.answer(false, 'TimeoutError');
    await waitFor('a probe in flight', () => probe.pending.length > 0, 5_000, 1);
    // the first two were granted, the one after two losses was not (it may confirm the cell down)
    expect(sent.slice(0, 4).map((h) => h?.[LEASE_HEADER] ?? null)).toEqual([
      String(leaseMs),
      String(leaseMs),
      String(leaseMs),
      null,
    ]);
    expect(p.health('messaging', 'dc-a').leaseGrantedUntil).toBe(Number(sent[2]![DEADLINE_HEADER]) + leaseMs);
  });
});

describe('Prober: the leases of proxied requests', () => {
  const target = { service: 'messaging', region: 'dc-a', url: 'http://127.0.0.1:1' } as const;
  const idle = async () => new Promise<ProbeResult>(() => {});

  it('grants on every request like a probe, counted before it leaves, and none while the cell is silent', () => {
    // not started: only the bookkeeping, no probes
    const p = new Prober([target], { ...CONFIG, silenceMs: 100 }, idle, async () => 'alive');
    prober = p;
    const leaseMs = 600;
    p.grantLeases(() => ({ epoch: 7, leaseMs, grantMs: 200 }), 0);
    const t = Date.now();
    const first = p.grantRequest('messaging', 'dc-a', 7, t);
    // the grant's own short deadline, not the request's
    expect(first.headers).toEqual({
      [EPOCH_HEADER]: '7',
      [LEASE_HEADER]: '600',
      [LEASE_DEADLINE_HEADER]: String(t + 200),
    });
    const bound = p.health('messaging', 'dc-a').leaseGrantedUntil!;
    expect(bound).toBeGreaterThanOrEqual(t + 200 + leaseMs);
    // still within the step the bound is raised by
    const sent = [first];
    sent.push(p.grantRequest('messaging', 'dc-a', 7, t + 20));
    expect(sent[1]!.headers).not.toBeNull();
    expect(p.health('messaging', 'dc-a').leaseGrantedUntil).toBe(bound);
    sent.push(p.grantRequest('messaging', 'dc-a', 7, t + 99));
    expect(sent[2]!.headers).not.toBeNull();
    expect(p.health('messaging', 'dc-a').leaseGrantedUntil).toBeGreaterThanOrEqual(t + 99 + 200 + leaseMs);
    // the first has waited 100 ms and nothing answered since it left: silent, no grant, bound unmoved
    const held = p.health('messaging', 'dc-a').leaseGrantedUntil;
    sent.push(p.grantRequest('messaging', 'dc-a', 7, t + 100));
    sent.push(p.grantRequest('messaging', 'dc-a', 7, t + 5_000));
    expect(sent.slice(3).map((r) => r.headers)).toEqual([null, null]);
    expect(p.health('messaging', 'dc-a').leaseGrantedUntil).toBe(held);
    // answered (or given up on): nothing waits any more, granted again
    for (const r of sent) r.settled(true);
    expect(p.grantRequest('messaging', 'dc-a', 7, t + 5_000).headers).not.toBeNull();
  });

  it('a cell confirmed down, leases off, or a request at another epoch: no grant', async () => {
    const probe = scriptedProbe();
    const p = new Prober([target], CONFIG, probe.fn, async () => 'alive');
    prober = p;
    p.grantLeases(() => ({ epoch: 7, leaseMs: 0 }), 0);
    expect(p.grantRequest('messaging', 'dc-a', 7).headers).toBeNull();
    p.grantLeases(() => ({ epoch: 7, leaseMs: 600 }), 0);
    expect(p.grantRequest('messaging', 'dc-a', 7).headers).not.toBeNull();
    // a request routed at another epoch than the lease's: its epoch header stays its route's, no grant
    expect(p.grantRequest('messaging', 'dc-a', 6).headers).toBeNull();
    p.start();
    await probe.answer(true);
    for (let i = 0; i < 3; i++) await probe.answer(false, 'TimeoutError');
    await waitFor('confirmed down', () => p.health('messaging', 'dc-a').status === 'down', 5_000, 1);
    expect(p.grantRequest('messaging', 'dc-a', 7).headers).toBeNull();
  });
});

describe('Prober: the leases of promotions', () => {
  const target = { service: 'messaging', region: 'dc-a', url: 'http://127.0.0.1:1' } as const;
  const idle = async () => new Promise<ProbeResult>(() => {});

  it('counts a promotion’s grant until it is answered, then the answer’s bound, never below another grant', () => {
    // not started: only the bookkeeping, no probes
    const p = new Prober([target], CONFIG, idle, async () => 'refused');
    const now = Date.now();
    const first = p.countPromotionLease('messaging', 'dc-a', now + 18_000);
    expect(p.health('messaging', 'dc-a').promotionLeaseUntil).toBe(now + 18_000);
    const second = p.countPromotionLease('messaging', 'dc-a', now + 19_000);
    second(now + 3_100);
    // the first is still unanswered: the cell may still take it
    expect(p.health('messaging', 'dc-a').promotionLeaseUntil).toBe(now + 18_000);
    first(now + 3_050);
    expect(p.health('messaging', 'dc-a').promotionLeaseUntil).toBe(now + 3_100);
    // an answer never raises a bound
    first(now + 50_000);
    expect(p.health('messaging', 'dc-a').promotionLeaseUntil).toBe(now + 3_100);
  });

  it('a router that starts counts a promotion its previous run may still have in flight', () => {
    const p = new Prober([target], CONFIG, idle, async () => 'refused');
    const now = 1_000_000;
    p.grantLeases(() => ({ epoch: 4, leaseMs: 3_000, promoteTimeoutMs: 15_000 }), now);
    expect(p.health('messaging', 'dc-a').leaseGrantedUntil).toBe(now + 15_000 + 3_000);
    const q = new Prober([target], CONFIG, idle, async () => 'refused');
    q.grantLeases(() => ({ epoch: 4, leaseMs: 3_000 }), now);
    expect(q.health('messaging', 'dc-a').leaseGrantedUntil).toBe(now + CONFIG.timeoutMs + 3_000);
  });

  it('a router that starts counts the settling lease its previous run may have granted after a promotion', () => {
    const p = new Prober([target], CONFIG, idle, async () => 'refused');
    const now = 1_000_000;
    p.grantLeases(() => ({ epoch: 4, leaseMs: 800, promoteTimeoutMs: 15_000, settleLeaseMs: 2_500 }), now);
    expect(p.health('messaging', 'dc-a').leaseGrantedUntil).toBe(now + 15_000 + 2_500);
  });
});

describe("the held connection to a cell's Postgres (watchPostgres)", () => {
  // no probe leaves by the clock during these cases: only a wake can send one
  const SLOW: ProbeConfig = { ...CONFIG, intervalMs: 60_000, burstIntervalMs: 60_000 };
  function watched(probe: ReturnType<typeof scriptedProbe>) {
    const watches: Array<{ host: string; port: number; onClosed: () => void; stopped: boolean }> = [];
    prober = new Prober(
      [{ service: 'payments', region: 'dc-a', url: 'http://127.0.0.1:1' }],
      SLOW,
      probe.fn,
      async () => 'refused',
      undefined,
      (host, port, onClosed) => {
        const w = { host, port, onClosed, stopped: false };
        watches.push(w);
        return {
          stop: () => {
            w.stopped = true;
          },
        };
      },
    );
    prober.start();
    return { p: prober, watches };
  }

  it('is held to the cell’s Postgres while the prober runs, and closed when it stops', async () => {
    const probe = scriptedProbe();
    const { p, watches } = watched(probe);
    expect(watches.map((w) => `${w.host}:${w.port} ${w.stopped}`)).toEqual(['127.0.0.1:5432 false']);
    await probe.answer(true);
    await p.stop();
    prober = null;
    expect(watches[0]!.stopped).toBe(true);
  });

  it('its close sends a probe at once, not at the next interval', async () => {
    const probe = scriptedProbe();
    const { p, watches } = watched(probe);
    await probe.answer(true);
    await waitFor('cell up', () => p.health('payments', 'dc-a').status === 'up', 5_000, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(probe.pending.length).toBe(0); // pausing for a minute
    watches[0]!.onClosed();
    await waitFor('a probe in flight', () => probe.pending.length > 0, 5_000, 1);
  });

  it('a close while a probe is in flight: the next probe leaves right after it, without the pause', async () => {
    const probe = scriptedProbe();
    const { p, watches } = watched(probe);
    await waitFor('a probe in flight', () => probe.pending.length > 0, 5_000, 1);
    watches[0]!.onClosed(); // the probe in flight may have been read before the database died
    await probe.answer(true);
    await waitFor('cell up', () => p.health('payments', 'dc-a').status === 'up', 5_000, 1);
    await waitFor('the next probe in flight', () => probe.pending.length > 0, 5_000, 1);
  });

  it('is no evidence: a close followed by good probes leaves the cell up', async () => {
    const probe = scriptedProbe();
    const { p, watches } = watched(probe);
    await probe.answer(true);
    await waitFor('cell up', () => p.health('payments', 'dc-a').status === 'up', 5_000, 1);
    watches[0]!.onClosed(); // e.g. the backend holding it ended after authentication_timeout
    await probe.answer(true);
    expect(p.health('payments', 'dc-a').status).toBe('up');
    expect(p.health('payments', 'dc-a').consecutiveFailures).toBe(0);
  });
});

describe('Prober: passive confirmation (confirmSilenceMs)', () => {
  const SILENT: ProbeConfig = { ...CONFIG, confirmSilenceMs: 80, confirmFall: 2 };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('two timed-out probes and nothing answered for confirmSilenceMs: down at the second', async () => {
    const probe = scriptedProbe();
    // a frozen cell: its Postgres neither answers nor refuses
    const p = startProber(probe, SILENT, async () => 'silent');
    await upThen(probe, p);
    await probe.answer(false, 'TimeoutError');
    await waitFor('first failure', () => p.health('messaging', 'dc-a').consecutiveFailures === 1, 5_000, 1);
    expect(p.health('messaging', 'dc-a').status).toBe('suspect');
    await sleep(100);
    await probe.answer(false, 'TimeoutError');
    await waitFor('second failure', () => p.health('messaging', 'dc-a').consecutiveFailures === 2, 5_000, 1);
    expect(p.health('messaging', 'dc-a').status).toBe('down');
  });

  it('a proxied request answered meanwhile: the cell is not silent, and two failures only suspect it', async () => {
    const probe = scriptedProbe();
    const p = startProber(probe, SILENT, async () => 'silent');
    await upThen(probe, p);
    await probe.answer(false, 'TimeoutError');
    await waitFor('first failure', () => p.health('messaging', 'dc-a').consecutiveFailures === 1, 5_000, 1);
    const request = p.grantRequest('messaging', 'dc-a', 1);
    await sleep(100);
    request.settled(true); // a late answer: an outage that healed, a spike, a busy cell
    await probe.answer(false, 'TimeoutError');
    await waitFor('second failure', () => p.health('messaging', 'dc-a').consecutiveFailures === 2, 5_000, 1);
    expect(p.health('messaging', 'dc-a').status).toBe('suspect');
    await probe.answer(false, 'TimeoutError');
    await waitFor('down by fall', () => p.health('messaging', 'dc-a').status === 'down', 5_000, 1);
  });
});
