// The prober with a scripted probe function: each probe waits until the test answers it, so the order
// of "probe started", "data plane asked", "probe answered" is set by the test, not by timers.
import { afterEach, describe, expect, it } from 'vitest';
import type { ProbeConfig } from '../src/config';
import type { ProbeResult } from '../src/health/cell-health';
import { Prober } from '../src/health/prober';
import { ready } from './fixtures/snapshots';
import { waitFor } from './helpers/wait';

const CONFIG: ProbeConfig = {
  intervalMs: 10,
  timeoutMs: 500,
  fall: 3,
  rise: 2,
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
    async answer(ok: boolean) {
      await waitFor('a probe in flight', () => pending.length > 0, 5_000, 1);
      pending.shift()!({
        ok,
        at: Date.now(),
        ms: 1,
        ready: ok ? ready() : null,
        error: ok ? null : 'ECONNREFUSED',
      });
    },
  };
}

let prober: Prober | null = null;
afterEach(async () => {
  await prober?.stop();
  prober = null;
});

function startProber(probe: ReturnType<typeof scriptedProbe>) {
  prober = new Prober(
    [{ service: 'messaging', region: 'dc-a', url: 'http://127.0.0.1:1' }],
    CONFIG,
    probe.fn,
    async () => false, // its Postgres is gone too: a region loss, not an app crash
  );
  prober.start();
  return prober;
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
