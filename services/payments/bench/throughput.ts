// Payments throughput against one real cell process (src/server.ts, as the lab starts it) on its own
// random subnet, with a synchronous standby (every transfer waits for dc-b's flush):
//   npx tsx services/payments/bench/throughput.ts     (BENCH_DURATION_S default 10, BENCH_CONNECTIONS 16,
//   BENCH_HOT_ACCOUNTS 4)
// Prints transfers/s (spread over 200 accounts, then around a ring of a few hot ones) and GET
// account/s with p50/p99 latency, then checks the audit (money conserved).

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTestSigner } from '@failover-lab/cell-kit/testing';
import { startTestDataTier } from '@failover-lab/lab/testing';
import autocannon from 'autocannon';

const duration = Number(process.env.BENCH_DURATION_S ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const ACCOUNTS = 200;
const HOT_ACCOUNTS = Number(process.env.BENCH_HOT_ACCOUNTS ?? 4);
const serverPath = fileURLToPath(new URL('../src/server.ts', import.meta.url));

async function waitReady(url: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`payments exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('payments did not become ready');
}

function row(name: string, r: autocannon.Result) {
  return {
    scenario: name,
    connections,
    'req/s': Math.round(r.requests.average),
    'p50 ms': r.latency.p50,
    'p99 ms': r.latency.p99,
    requests: r.requests.total,
    'non-2xx': r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

const tier = await startTestDataTier({ service: 'payments', standby: true });
let child: ChildProcess | undefined;
try {
  const signer = await createTestSigner('bench');
  const url = `http://${tier.primary.host}:3000`;
  child = spawn(process.execPath, ['--import', 'tsx', serverPath], {
    detached: true, // own process group, so stop() ends it and nothing else
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      SERVICE_NAME: 'payments',
      REGION: 'dc-a',
      HOST: tier.primary.host,
      PORT: '3000',
      DATABASE_URL: tier.primary.databaseUrl,
      REDIS_URL: tier.primary.redisUrl,
      ADMIN_TOKEN: tier.secrets.adminToken,
      JWT_JWKS: JSON.stringify(signer.jwks),
      LOG_LEVEL: 'warn',
    },
  });
  await waitReady(url, child);
  const admin = { authorization: `Bearer ${tier.secrets.adminToken}`, 'content-type': 'application/json' };
  const seeded = await fetch(`${url}/admin/seed/accounts`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({
      accounts: Array.from({ length: ACCOUNTS }, (_, i) => ({
        id: `bench-${i}`,
        owner: 'bench',
        balance: 1e9,
      })),
    }),
  });
  if (seeded.status !== 200) throw new Error(`seed failed: ${seeded.status}`);
  const token = await signer.sign('bench', { expiresIn: '1h' });
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

  let n = 0;
  const run = Date.now().toString(36);
  // Transfers around a ring of `ring` accounts, each request its own key.
  const transferRun = (ring: number) =>
    autocannon({
      url,
      duration,
      connections,
      requests: [
        {
          method: 'POST',
          path: '/payments/transfers',
          setupRequest: (req) => {
            const i = n++;
            const from = i % ring;
            return {
              ...req,
              headers: { ...auth, 'idempotency-key': `bench-${run}-${i}` },
              body: JSON.stringify({ from: `bench-${from}`, to: `bench-${(from + 1) % ring}`, amount: 1 }),
            };
          },
        },
      ],
    });
  // spread over many account pairs, as real traffic would
  const transfers = await transferRun(ACCOUNTS);
  // The drill's and the peers bench's shape: every transfer moves money around a ring of a few
  // accounts, so each one locks two of the same rows and they run one after another. What limits
  // this is how long a transfer holds its rows, not the machine's throughput.
  const hot = await transferRun(HOT_ACCOUNTS);
  const reads = await autocannon({
    url: `${url}/payments/accounts/bench-7`,
    duration,
    connections,
    headers: auth,
  });
  // the same process answering without a database or token: how much of the above is the machine
  const live = await autocannon({ url: `${url}/health/live`, duration, connections });

  const audit = (await (await fetch(`${url}/admin/audit/payments`, { headers: admin })).json()) as Record<
    string,
    number
  >;
  console.log(
    `payments cell (primary + synchronous standby), ${duration} s per scenario, subnet ${tier.subnet}`,
  );
  console.table([
    row('POST /payments/transfers', transfers),
    row(`POST /payments/transfers (${HOT_ACCOUNTS} hot accounts)`, hot),
    row('GET /payments/accounts/:id', reads),
    row('GET /health/live (baseline)', live),
  ]);
  console.log(
    `load average during the run: ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    `audit: transfers ${audit.transfers}, money conserved ${audit.totalBalance === audit.openingBalance}, ` +
      `ledger imbalance ${audit.ledgerImbalance}, negative balances ${audit.negativeBalances}`,
  );
} finally {
  if (child?.pid && child.exitCode === null) {
    process.kill(-child.pid, 'SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  }
  await tier.stop();
}
