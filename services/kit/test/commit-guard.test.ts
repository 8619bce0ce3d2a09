// The deadline at COMMIT is checked inside Postgres: a cell process frozen (SIGSTOP) after its own
// deadline check and before its COMMIT reached Postgres, resumed after the deadline, must not commit.
// Without the guard the write commits late: after the router gave up on it and may have promoted the
// other region (split brain on one request).

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startTestDataTier, type TestDataTier } from '@failover-lab/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let tier: TestDataTier;

beforeAll(async () => {
  tier = await startTestDataTier({ service: 'messaging' });
});

afterAll(async () => {
  await tier?.stop();
});

const CHILD = fileURLToPath(new URL('./fixtures/frozen-commit-child.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the commit guard', () => {
  it('a cell frozen between its deadline check and COMMIT does not commit after the deadline', async () => {
    const value = `frozen-at-commit-${crypto.randomUUID().slice(0, 8)}`;
    const { region, host, databaseUrl, redisUrl } = tier.primary;
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: {
        ...process.env,
        FLAB_STORES: JSON.stringify({ region, host, databaseUrl, redisUrl }),
        FLAB_VALUE: value,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const lines: string[] = [];
    let deadlineMs = 0;
    let frozen: Promise<void> | undefined;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('deadline ')) {
        deadlineMs = Number(line.slice('deadline '.length));
        return;
      }
      lines.push(line);
      if (line === 'at-commit') {
        child.kill('SIGSTOP');
        frozen = (async () => {
          while (Date.now() <= deadlineMs + 500) await sleep(100);
          child.kill('SIGCONT');
        })();
      }
    });
    try {
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await frozen;
    // the app's own check passed (the child reached COMMIT); only Postgres could refuse it
    expect(lines[0]).toBe('at-commit');
    const result = JSON.parse(lines[1]!);
    expect(result.status).toBe(503);
    expect(result.body.error.code).toBe('PROBE_ERR_DEADLINE_EXCEEDED');
    const rows = await tier.primary.query('SELECT 1 FROM probe_items WHERE value = $1', [value]);
    expect(rows).toHaveLength(0);
  }, 60_000);

  it('a leased cell frozen before COMMIT does not commit after its lease, even before the deadline', async () => {
    // The router waits out the lease of a frozen primary, not its writes' deadlines as well
    // (docs/fencing.md, "The lease"): that is only safe if the lease bounds every COMMIT too.
    const value = `frozen-past-lease-${crypto.randomUUID().slice(0, 8)}`;
    const { region, host, databaseUrl, redisUrl } = tier.primary;
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: {
        ...process.env,
        FLAB_STORES: JSON.stringify({ region, host, databaseUrl, redisUrl }),
        FLAB_VALUE: value,
        FLAB_LEASE_MS: '1500',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const lines: string[] = [];
    let leaseUntil = 0;
    let deadlineMs = 0;
    let frozen: Promise<number> | undefined;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('lease ')) leaseUntil = Number(line.slice('lease '.length));
      else if (line.startsWith('deadline ')) deadlineMs = Number(line.slice('deadline '.length));
      else {
        lines.push(line);
        if (line === 'at-commit') {
          child.kill('SIGSTOP');
          frozen = (async () => {
            while (Date.now() <= leaseUntil + 300) await sleep(50);
            child.kill('SIGCONT');
            return Date.now();
          })();
        }
      }
    });
    try {
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const resumedAt = await frozen;
    // resumed past the lease but well before the request's own deadline
    expect(resumedAt).toBeGreaterThan(leaseUntil);
    expect(resumedAt).toBeLessThan(deadlineMs);
    expect(lines[0]).toBe('at-commit');
    const result = JSON.parse(lines[1]!);
    expect(result.status).toBe(503);
    expect(result.body.error.code).toBe('PROBE_ERR_DEADLINE_EXCEEDED');
    const rows = await tier.primary.query('SELECT 1 FROM probe_items WHERE value = $1', [value]);
    expect(rows).toHaveLength(0);
  }, 60_000);

  it('guards every table, the service tables included', async () => {
    const rows = await tier.primary.query<{ relname: string }>(
      `SELECT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
        WHERE g.tgname = 'failover_commit_guard' ORDER BY 1`,
    );
    expect(rows.map((r) => r.relname)).toEqual(expect.arrayContaining(['cell_state', 'probe_items']));
  });
});
