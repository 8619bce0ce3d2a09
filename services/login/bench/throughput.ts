// Login throughput against one real cell process (src/server.ts) on its own random subnet:
// sign-in (scrypt-bound by design) and GET /login/me (token verify + revocation lookup).
//   npx tsx services/login/bench/throughput.ts        (BENCH_DURATION_S, default 10 per scenario)

import { fileURLToPath } from 'node:url';
import { createTestSigner } from '@failover-lab/cell-kit/testing';
import { startTestDataTier } from '@failover-lab/lab/testing';
import autocannon from 'autocannon';
import { benchRow, printRows, startCellProcess } from './cell-process';

const duration = Number(process.env.BENCH_DURATION_S ?? 10);
const tier = await startTestDataTier({ service: 'login' });
try {
  const signer = await createTestSigner('bench');
  const cell = await startCellProcess(tier, fileURLToPath(new URL('../src/server.ts', import.meta.url)), {
    SERVICE_NAME: 'login',
    JWT_JWKS: JSON.stringify(signer.jwks),
    JWT_SIGNING_KEY: JSON.stringify(signer.privateJwk),
    // the bench measures hashing and the database, not the limiter refusing it
    LOGIN_SIGNIN_LIMIT_PER_USERNAME: '1000000',
    LOGIN_SIGNIN_LIMIT_PER_IP: '1000000',
  });
  try {
    const credentials = JSON.stringify({ username: 'bench_user', password: 'bench password 123' });
    const json = { 'content-type': 'application/json' };
    const signUp = await fetch(`${cell.url}/login/users`, {
      method: 'POST',
      headers: json,
      body: credentials,
    });
    if (signUp.status !== 201) throw new Error(`sign-up failed: ${signUp.status}`);
    const session = await fetch(`${cell.url}/login/sessions`, {
      method: 'POST',
      headers: json,
      body: credentials,
    });
    const { accessToken } = (await session.json()) as { accessToken: string };

    const run = (opts: autocannon.Options) => autocannon({ duration, ...opts });
    const signIn = await run({
      url: `${cell.url}/login/sessions`,
      connections: 4,
      method: 'POST',
      headers: json,
      body: credentials,
    });
    const me = await run({
      url: `${cell.url}/login/me`,
      connections: 16,
      headers: { authorization: `Bearer ${accessToken}` },
    });
    printRows(`login cell, ${duration} s per scenario, subnet ${tier.subnet}`, [
      benchRow('POST /login/sessions (sign-in)', 4, signIn),
      benchRow('GET /login/me', 16, me),
    ]);
  } finally {
    await cell.stop();
  }
} finally {
  await tier.stop();
}
