import { keepsSyncStandbyWhen, REPLICATION_MODE } from '@failover-lab/contracts';
import { describe, expect, it } from 'vitest';
import { keepsSyncStandbyIn, probeOverrides, replicationEnv, replicationModes } from './replication';

describe('replicationModes', () => {
  it("is the contract's modes without overrides, and takes service=mode overrides", () => {
    expect(replicationModes(undefined)).toEqual(REPLICATION_MODE);
    expect(replicationModes('')).toEqual(REPLICATION_MODE);
    expect(replicationModes(replicationEnv({ payments: 'async' }))).toEqual({
      ...REPLICATION_MODE,
      payments: 'async',
    });
    expect(replicationModes(' login=sync , payments=async ')).toMatchObject({
      login: 'sync',
      payments: 'async',
    });
  });

  it.each(['payments', 'payments=semi', 'billing=async', 'payments=async=1'])(
    'refuses %j clearly',
    (text) => {
      expect(() => replicationModes(text)).toThrow(/LAB_REPLICATION must look like payments=async/);
    },
  );
});

describe('probeOverrides', () => {
  it("is empty without LAB_ROUTER_PROBE, and takes the router's probe knobs as JSON", () => {
    expect(probeOverrides(undefined)).toEqual({});
    expect(probeOverrides('{"intervalMs":100,"timeoutMs":250,"fall":2}')).toEqual({
      intervalMs: 100,
      timeoutMs: 250,
      fall: 2,
    });
  });

  it.each(['{', '[]', '{"intervalMs":1}', '{"fall":"3"}', '{"probeEvery":100}'])(
    'refuses %j clearly',
    (text) => {
      expect(() => probeOverrides(text)).toThrow(/LAB_ROUTER_PROBE/);
    },
  );
});

describe('keepsSyncStandbyIn', () => {
  it('follows the contract unless a service is overridden: payments=async keeps no sync standby', () => {
    expect(keepsSyncStandbyIn(undefined, 'payments')).toBe(true);
    expect(keepsSyncStandbyIn(replicationModes('payments=async'), 'payments')).toBe(false);
    // login is async but waits for its revocations: it keeps its sync standby
    expect(keepsSyncStandbyIn(replicationModes('payments=async'), 'login')).toBe(true);
    expect(keepsSyncStandbyIn(undefined, 'messaging')).toBe(false);
    expect(keepsSyncStandbyIn(replicationModes('messaging=sync'), 'messaging')).toBe(true);
  });
});

describe('keepsSyncStandbyWhen (the drill judges steady state by the mode the router runs)', () => {
  it('payments async keeps no sync standby; login async keeps its revocations one', () => {
    expect(keepsSyncStandbyWhen('payments', 'async')).toBe(false);
    expect(keepsSyncStandbyWhen('payments', 'sync')).toBe(true);
    expect(keepsSyncStandbyWhen('login', 'async')).toBe(true);
    expect(keepsSyncStandbyWhen('messaging', 'async')).toBe(false);
  });
});
