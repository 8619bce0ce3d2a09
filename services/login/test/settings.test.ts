import { describe, expect, it } from 'vitest';
import { loadLoginSettings } from '../src/settings';

describe('login settings: the expired-row sweeper', () => {
  it('sweeps every 60 s in batches of 1000 by default', () => {
    expect(loadLoginSettings({}).sweep).toEqual({ intervalMs: 60_000, batchSize: 1000 });
  });

  it('takes LOGIN_SWEEP_INTERVAL_MS and LOGIN_SWEEP_BATCH_SIZE; 0 turns the sweeper off', () => {
    const env = { LOGIN_SWEEP_INTERVAL_MS: '0', LOGIN_SWEEP_BATCH_SIZE: '250' };
    expect(loadLoginSettings(env).sweep).toEqual({ intervalMs: 0, batchSize: 250 });
    expect(loadLoginSettings({ LOGIN_SWEEP_INTERVAL_MS: '300000' }).sweep.intervalMs).toBe(300_000);
  });

  it.each([
    ['LOGIN_SWEEP_INTERVAL_MS', 'soon'],
    ['LOGIN_SWEEP_INTERVAL_MS', '-1'],
    ['LOGIN_SWEEP_INTERVAL_MS', '1.5'],
    ['LOGIN_SWEEP_INTERVAL_MS', '999'],
    ['LOGIN_SWEEP_INTERVAL_MS', '86400001'],
    ['LOGIN_SWEEP_BATCH_SIZE', '0'],
    ['LOGIN_SWEEP_BATCH_SIZE', '100001'],
  ])('refuses %s=%s at start', (name, value) => {
    expect(() => loadLoginSettings({ [name]: value })).toThrow(name);
  });
});
