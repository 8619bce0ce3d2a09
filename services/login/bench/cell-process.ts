// Starts a real cell process (src/server.ts, exactly as the lab does) on a data tier, for benchmarks.

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestDataTier } from '@failover-lab/lab/testing';
import type autocannon from 'autocannon';

const TSX = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));

export interface CellProcess {
  url: string;
  stop(): Promise<void>;
}

export async function startCellProcess(
  tier: TestDataTier,
  serverTs: string,
  env: Record<string, string>,
): Promise<CellProcess> {
  const host = tier.primary.host;
  const port = 3000;
  // detached: the server gets its own process group, so stop() ends tsx and its node child together.
  const child: ChildProcess = spawn(TSX, [serverTs], {
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      REGION: 'dc-a',
      HOST: host,
      PORT: String(port),
      DATABASE_URL: tier.primary.databaseUrl,
      REDIS_URL: tier.primary.redisUrl,
      ADMIN_TOKEN: tier.secrets.adminToken,
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  const url = `http://${host}:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || !child.pid) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid, 'SIGTERM');
    const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${serverTs} exited with ${child.exitCode}`);
    const ready = await fetch(`${url}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { url, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${serverTs} not ready within 30 s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface BenchRow {
  scenario: string;
  connections: number;
  requests: number;
  reqPerSec: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  errors: number;
}

export function benchRow(scenario: string, connections: number, result: autocannon.Result): BenchRow {
  return {
    scenario,
    connections,
    requests: result.requests.total,
    reqPerSec: Math.round(result.requests.average),
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

export function printRows(title: string, rows: BenchRow[]): void {
  console.log(`\n${title}`);
  console.log('| scenario | connections | requests | req/s | p50 ms | p99 ms | non-2xx | errors |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.scenario} | ${r.connections} | ${r.requests} | ${r.reqPerSec} | ${r.p50ms} | ${r.p99ms} | ${r.non2xx} | ${r.errors} |`,
    );
  }
}
