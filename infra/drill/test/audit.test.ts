import { describe, expect, it } from 'vitest';
import { acknowledgedWrites, compareAcked, messagingInvariants, paymentsInvariants } from '../src/audit';
import { record } from './fixtures';

const transfer = (key: string, startMs: number, status: number) =>
  record({
    service: 'payments',
    op: 'transfer',
    writeId: key,
    startMs,
    endMs: startMs + 10,
    status,
    ok: status < 300,
  });

describe('acknowledgedWrites', () => {
  it('keeps each acknowledged write id once, ignores failed attempts, reads and other services', () => {
    const records = [
      transfer('k1', 0, 201),
      transfer('k2', 10, 503),
      transfer('k2', 500, 201), // the retry with the same key is one write
      transfer('k2', 600, 200), // a replay answered from the idempotency record
      transfer('k3', 20, 0),
      record({ service: 'payments', op: 'balance', startMs: 30 }),
      record({ service: 'messaging', op: 'send', writeId: 'm1', startMs: 40, status: 201 }),
    ];
    const acked = acknowledgedWrites(records, 'payments');
    expect([...acked.keys()].sort()).toEqual(['k1', 'k2']);
    expect(acked.get('k2')!.startMs).toBe(500);
  });
});

describe('compareAcked', () => {
  const acked = acknowledgedWrites(
    [
      transfer('old', 1_000, 201),
      transfer('recent', 9_800, 201),
      transfer('twice', 2_000, 201),
      transfer('ok', 3_000, 201),
    ],
    'payments',
  );
  const found: Record<string, number> = { old: 0, recent: 0, twice: 2, ok: 1 };

  it('counts lost and duplicated writes and flags losses acked just before the fault', () => {
    const result = compareAcked(acked, (id) => found[id] ?? 0, { faultMs: 10_000, asyncWindowMs: 1_000 });
    expect(result).toEqual({
      ackedWrites: 4,
      lostAckedWrites: 2,
      duplicateWrites: 1,
      lostSample: ['old', 'recent'],
      lostIds: ['old', 'recent'],
      lostInAsyncWindow: 1,
      lostAckedBeforeFaultMs: [8_990, 190],
    });
  });

  it('finds nothing wrong when everything is there once', () => {
    const result = compareAcked(acked, () => 1, { faultMs: 10_000, asyncWindowMs: 1_000 });
    expect(result.lostAckedWrites + result.duplicateWrites).toBe(0);
  });
});

describe('messagingInvariants', () => {
  it('a message lost inside the async window is RPO, not a broken invariant', () => {
    expect(messagingInvariants({ lostAckedWrites: 1, lostInAsyncWindow: 1 })).toEqual({
      ackedBeforeAsyncWindowReadable: true,
    });
  });
  it('a message acknowledged before the window and lost breaks it', () => {
    expect(messagingInvariants({ lostAckedWrites: 2, lostInAsyncWindow: 1 })).toEqual({
      ackedBeforeAsyncWindowReadable: false,
    });
  });
});

describe('paymentsInvariants', () => {
  it('money conserved, no negative balance, every acked transfer exactly once', () => {
    expect(
      paymentsInvariants(
        { totalSeeded: 1000, totalNow: 1000, negativeAccounts: 0 },
        { lost: 0, duplicates: 0 },
      ),
    ).toEqual({
      moneyConserved: true,
      noNegativeBalance: true,
      everyAckedTransferAppliedOnce: true,
    });
    const broken = paymentsInvariants(
      { totalSeeded: 1000, totalNow: 990, negativeAccounts: 1 },
      { lost: 0, duplicates: 1 },
    );
    expect(Object.values(broken)).toEqual([false, false, false]);
  });
});
