// Shared setup for the login integration tests: a real data tier and login cells built on it.

import { createTestSigner, type TestSigner, testCellConfig } from '@failover-lab/cell-kit/testing';
import { type CellStores, startTestDataTier, type TestDataTier } from '@failover-lab/lab/testing';
import type { FastifyInstance } from 'fastify';
import { buildLoginCell } from '../src/app';
import type { LoginSettings } from '../src/settings';

/** Cheapest scrypt the settings allow (2^14), so tests spend their time on behaviour, not hashing. */
export const testSettings = (overrides: Partial<LoginSettings> = {}): LoginSettings => ({
  signInLimitPerUsername: { limit: 1000, windowSeconds: 60 },
  signInLimitPerIp: { limit: 100_000, windowSeconds: 60 },
  scrypt: { log2N: 14, r: 8, p: 1 },
  // off: tests that sweep call app.loginSweeper.runOnce() or turn the timer on themselves
  sweep: { intervalMs: 0, batchSize: 1000 },
  ...overrides,
});

export async function buildTestLoginCell(
  tier: TestDataTier,
  stores: CellStores,
  signer: TestSigner,
  opts: { settings?: LoginSettings; redisUrl?: string; logStream?: NodeJS.WritableStream } = {},
): Promise<FastifyInstance> {
  const config = {
    ...testCellConfig({
      service: 'login',
      stores,
      redisUrl: opts.redisUrl ?? stores.redisUrl,
      adminToken: tier.secrets.adminToken,
      jwks: signer.jwks,
      // a test that captures logs wants to see them; the others stay quiet
      ...(opts.logStream ? { logLevel: 'info' } : {}),
    }),
    jwtSigningKey: signer.privateJwk as never,
  };
  return buildLoginCell(config, {
    settings: opts.settings ?? testSettings(),
    ...(opts.logStream ? { logStream: opts.logStream } : {}),
  });
}

export { createTestSigner, startTestDataTier as startTier };

let counter = 0;
/** Usernames unique across test files and runs (the database lives for the whole file). */
export function uniqueUsername(prefix = 'u'): string {
  counter += 1;
  return `${prefix}${process.pid}_${Date.now().toString(36)}_${counter}`.toLowerCase().slice(0, 32);
}

export const PASSWORD = 'correct horse battery staple';

export async function rowCounts(stores: CellStores): Promise<Record<string, number>> {
  const [row] = await stores.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM users) AS users,
            (SELECT count(*) FROM refresh_tokens) AS refresh_tokens,
            (SELECT count(*) FROM session_families) AS session_families,
            (SELECT count(*) FROM revoked_access_tokens) AS revoked_access_tokens`,
  );
  return Object.fromEntries(Object.entries(row!).map(([k, v]) => [k, Number(v)]));
}
