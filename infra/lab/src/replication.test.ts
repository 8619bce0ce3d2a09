import { REPLICATION_MODE } from '@failover-lab/contracts';
import { describe, expect, it } from 'vitest';
import { replicationEnv, replicationModes } from './replication';

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
