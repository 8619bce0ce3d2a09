import { describe, expect, it } from 'vitest';
import {
  auditWrites,
  errorsByCode,
  failedAfterFault,
  longestStallMs,
  medianAndWorst,
  type OpRecord,
  patroniSpuriousFailovers,
  projectSpuriousFailovers,
  ratioLabel,
  recoveryMs,
  type SentinelEvent,
  sentinelSpuriousFailovers,
} from '../src/measure';

const FAULT = 10_000;
const ok = (startMs: number, endMs = startMs + 5): OpRecord => ({
  op: 'read',
  startMs,
  endMs,
  ok: true,
  error: null,
});
const bad = (startMs: number, endMs = startMs + 5, error = 'ECONNREFUSED'): OpRecord => ({
  op: 'write',
  startMs,
  endMs,
  ok: false,
  error,
});

describe('recoveryMs', () => {
  it('is the first answer to a request started after the last failure', () => {
    const records = [ok(9_000), bad(10_100), bad(12_000), ok(12_500, 12_520), ok(13_000)];
    expect(recoveryMs(records, FAULT)).toBe(2_520);
  });

  it('counts a request held through the outage at its answer, not its start', () => {
    // no failure at all: the client queued (ioredis offline queue, a router holding requests)
    const records = [ok(9_990, 9_995), ok(10_050, 12_300), ok(10_100, 12_310), ok(12_400)];
    expect(recoveryMs(records, FAULT)).toBe(2_300);
  });

  it('ignores failures that ended before the fault', () => {
    const records = [bad(8_000, 9_000), ok(10_050, 10_060)];
    expect(recoveryMs(records, FAULT)).toBe(60);
  });

  it('does not let a request that started before the last failure count as recovery', () => {
    // started at 10.2 s, answered late at 14 s, but a request started at 11 s still failed
    const records = [ok(10_200, 14_000), bad(11_000, 16_000), ok(16_100, 16_110)];
    expect(recoveryMs(records, FAULT)).toBe(6_110);
  });

  it('is null while requests still fail at the end', () => {
    expect(recoveryMs([ok(9_000), bad(10_500), ok(10_400, 10_450), bad(11_000)], FAULT)).toBeNull();
    expect(recoveryMs([], FAULT)).toBeNull();
  });
});

describe('longestStallMs', () => {
  it('is the longest gap between successful answers after the fault, from the fault on', () => {
    const records = [
      ok(9_000, 9_990),
      bad(10_100),
      ok(10_000, 10_500),
      ok(11_000, 14_500),
      ok(14_600, 14_700),
    ];
    expect(longestStallMs(records, FAULT, 15_000)).toBe(4_000);
  });

  it('runs to the end of the run when no answer came after the last success', () => {
    expect(longestStallMs([ok(10_000, 10_100), bad(10_200)], FAULT, 20_000)).toBe(9_900);
  });

  it('counts from the fault when nothing succeeded after it', () => {
    expect(longestStallMs([bad(10_200)], FAULT, 13_000)).toBe(3_000);
  });
});

describe('failed requests and errors', () => {
  it('counts failures that ended at or after the fault', () => {
    const records = [bad(8_000, 9_000), bad(9_990, 10_010), bad(11_000), ok(11_500)];
    expect(failedAfterFault(records, FAULT)).toBe(2);
  });

  it('groups failures by code, most frequent first', () => {
    const records = [bad(1, 2, 'B'), bad(1, 2, 'A'), bad(1, 2, 'B'), ok(1)];
    expect(errorsByCode(records)).toEqual([
      ['B', 2],
      ['A', 1],
    ]);
  });
});

describe('auditWrites', () => {
  it('finds acknowledged writes missing or applied twice, and unacknowledged ones that landed', () => {
    const acked = new Set(['w1', 'w2', 'w3', 'w4']);
    const attempted = new Set(['w1', 'w2', 'w3', 'w4', 'w5', 'w6']);
    const applied = new Map([
      ['w1', 1],
      ['w2', 0],
      ['w4', 2],
      ['w5', 1],
    ]);
    expect(auditWrites(acked, attempted, applied)).toEqual({
      acked: 4,
      lost: 2,
      duplicated: 1,
      appliedUnacked: 1,
      lostSample: ['w2', 'w3'],
    });
  });
});

describe('spurious failovers', () => {
  const event = (channel: string, message: string, sentinel = '127.1.110.1:26379'): SentinelEvent => ({
    atMs: 0,
    sentinel,
    channel,
    message,
  });

  it('Sentinel: the election against the killed master and its one switch are expected', () => {
    const events = [
      event('+sdown', 'master mymaster 127.1.111.1 6379'),
      event('+try-failover', 'master mymaster 127.1.111.1 6379'),
      event('+try-failover', 'master mymaster 127.1.111.1 6379', '127.1.110.2:26379'),
      event('+switch-master', 'mymaster 127.1.111.1 6379 127.1.112.1 6379'),
      event('+switch-master', 'mymaster 127.1.111.1 6379 127.1.112.1 6379', '127.1.110.2:26379'),
    ];
    expect(sentinelSpuriousFailovers(events, '127.1.111.1:6379')).toBe(0);
  });

  it('Sentinel: a failover attempt against the new master is spurious, and so is a second switch', () => {
    const events = [
      event('+try-failover', 'master mymaster 127.1.111.1 6379'),
      event('+switch-master', 'mymaster 127.1.111.1 6379 127.1.112.1 6379'),
      event('+try-failover', 'master mymaster 127.1.112.1 6379', '127.1.110.3:26379'),
    ];
    expect(sentinelSpuriousFailovers(events, '127.1.111.1:6379')).toBe(1);
    const twice = [
      ...events,
      event('+switch-master', 'mymaster 127.1.112.1 6379 127.1.111.1 6379'),
      event('+try-failover', 'master mymaster 127.1.111.1 6379'),
      event('+switch-master', 'mymaster 127.1.111.1 6379 127.1.112.1 6379'),
    ];
    // three distinct switches → two beyond the expected one; one attempt on another master
    expect(sentinelSpuriousFailovers(twice, '127.1.111.1:6379')).toBe(2);
  });

  it('Patroni: one new leader and one new timeline are expected; more is spurious', () => {
    const s = (leader: string | null, timeline: number | null) => ({ atMs: 0, leader, timeline });
    expect(patroniSpuriousFailovers([s('pg1', 1), s('pg1', 1), s(null, 1), s('pg2', 2)], 1)).toBe(0);
    expect(patroniSpuriousFailovers([s('pg1', 1), s('pg2', 2), s('pg2', 3)], 1)).toBe(1);
    expect(patroniSpuriousFailovers([s('pg1', 1), s('pg2', 2), s('pg1', 2), s('pg2', 2)], 1)).toBe(2);
    expect(patroniSpuriousFailovers([s('pg1', 1)], 1)).toBe(0);
  });

  it('the project: promoted events for the service beyond the first', () => {
    const events = [
      { type: 'confirmed_down', service: 'payments' },
      { type: 'promoted', service: 'payments' },
      { type: 'promoted', service: 'login' },
    ];
    expect(projectSpuriousFailovers(events, 'payments')).toBe(0);
    expect(projectSpuriousFailovers([...events, { type: 'promoted', service: 'payments' }], 'payments')).toBe(
      1,
    );
  });
});

describe('medianAndWorst', () => {
  it('takes the middle value and the largest', () => {
    expect(medianAndWorst([3, 1, 2])).toEqual({ median: 2, worst: 3 });
    expect(medianAndWorst([4, 1, 2, 3])).toEqual({ median: 2.5, worst: 4 });
  });

  it('treats a run that never recovered (null) as worse than any figure', () => {
    expect(medianAndWorst([1, null, 2])).toEqual({ median: 2, worst: null });
    expect(medianAndWorst([1, null, null])).toEqual({ median: null, worst: null });
    expect(medianAndWorst([])).toEqual({ median: null, worst: null });
  });
});

describe('ratioLabel', () => {
  it('divides by the project figure, and says so plainly when that is 0', () => {
    expect(ratioLabel(30_800, 1_000)).toBe('×31');
    expect(ratioLabel(2_300, 1_000)).toBe('×2.3');
    expect(ratioLabel(0, 0)).toBe('=');
    expect(ratioLabel(12, 0)).toBe('+12');
    expect(ratioLabel(null, 1)).toBe('n/a');
  });
});
