// Messaging throughput against one real cell process (src/server.ts) on its own random subnet:
// post message (new client id each request: insert + publish + unread counters) and list messages.
//   npx tsx services/messaging/bench/throughput.ts    (BENCH_DURATION_S, default 10 per scenario)

import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createTestSigner } from '@failover-lab/cell-kit/testing';
import { startTestDataTier } from '@failover-lab/lab/testing';
import autocannon from 'autocannon';
// The process/bench plumbing is the same for every service; login's copy is the one maintained.
import { benchRow, printRows, startCellProcess } from '../../login/bench/cell-process';

const duration = Number(process.env.BENCH_DURATION_S ?? 10);
const tier = await startTestDataTier({ service: 'messaging' });
try {
  const signer = await createTestSigner('bench');
  const cell = await startCellProcess(tier, fileURLToPath(new URL('../src/server.ts', import.meta.url)), {
    SERVICE_NAME: 'messaging',
    JWT_JWKS: JSON.stringify(signer.jwks),
  });
  try {
    const headers = {
      authorization: `Bearer ${await signer.sign('bench-user')}`,
      'content-type': 'application/json',
    };
    const connections = 16;
    const post = await autocannon({
      url: cell.url,
      duration,
      connections,
      requests: [
        {
          method: 'POST',
          path: '/messaging/rooms/bench/messages',
          headers,
          setupRequest: (request) => ({
            ...request,
            body: JSON.stringify({ id: randomUUID(), body: 'a bench message' }),
          }),
        },
      ],
    });
    const list = await autocannon({
      url: `${cell.url}/messaging/rooms/bench/messages?limit=50`,
      duration,
      connections,
      headers: { authorization: headers.authorization },
    });
    printRows(`messaging cell, ${duration} s per scenario, subnet ${tier.subnet}`, [
      benchRow('POST /messaging/rooms/:room/messages', connections, post),
      benchRow('GET /messaging/rooms/:room/messages?limit=50', connections, list),
    ]);
  } finally {
    await cell.stop();
  }
} finally {
  await tier.stop();
}
