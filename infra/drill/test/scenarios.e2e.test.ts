// Every scenario end to end on one real lab (Postgres, Redis, apps, router, Prometheus), at a short
// duration, with its expected verdict asserted; the lab is returned to steady state between drills.
// Last, the audit is shown to catch loss: an acknowledged message deleted on the primary before the
// read-back, and the load's revocations undone there, make the drill fail.

import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DrillReport } from '@failover-lab/contracts';
import { type LabClient, startLab, stopLab } from '@failover-lab/lab';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acknowledgedWrites } from '../src/audit';
import { LocalBackend } from '../src/backends/local';
import { DEFAULT_OPTIONS, type DrillEnvironment, type DrillOptions, runDrill } from '../src/run';
import type { ScenarioName } from '../src/scenarios';

const validate = (() => {
  const schemaPath = path.join(import.meta.dirname, '../../../test/contracts/report.schema.json');
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats.default(ajv);
  return ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')));
})();

let lab: LabClient;
let env: DrillEnvironment;
let appPassword: string;
let outRoot: string;

beforeAll(async () => {
  lab = await startLab();
  const secrets = JSON.parse(readFileSync(path.join(lab.stateDir, 'secrets.json'), 'utf8'));
  appPassword = secrets.appPassword;
  env = {
    backend: new LocalBackend(lab, { topo: lab.topo, adminToken: secrets.adminToken, appPassword }),
    routerUrl: lab.topo.edge.routerUrl,
    prometheusUrl: lab.topo.edge.prometheusUrl,
    adminToken: secrets.adminToken,
  };
  // Reports stay in drill-out/ (git-ignored) so a failed run can be read afterwards.
  outRoot = path.join(
    import.meta.dirname,
    '../../../drill-out',
    `e2e-${new Date().toISOString().replace(/[:.]/g, '-')}`,
  );
  await mkdir(outRoot, { recursive: true });
}, 240_000);

afterAll(async () => {
  if (lab) await stopLab(lab, { wipe: true });
}, 120_000);

function short(scenario: ScenarioName, extra: Partial<DrillOptions> = {}): DrillOptions {
  return {
    ...DEFAULT_OPTIONS,
    scenario,
    outDir: path.join(outRoot, scenario),
    warmupMs: 3_000,
    durationMs: 8_000,
    ratePerSec: 30,
    users: 6,
    rooms: 8,
    resetAfter: true,
    ...extra,
  };
}

const explain = (r: DrillReport) => `${r.scenario}: ${r.verdict}\n${r.reasons.join('\n')}`;

async function expectPass(scenario: ScenarioName, extra: Partial<DrillOptions> = {}): Promise<DrillReport> {
  const report = await runDrill(short(scenario, extra), env, {
    log: (line) => console.log(`[${scenario}] ${line}`),
  });
  const json = JSON.parse(await readFile(path.join(outRoot, scenario, 'report.json'), 'utf8'));
  expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
  expect(report.verdict, explain(report)).toBe('pass');
  return report;
}

describe.sequential('drill scenarios on a real lab', () => {
  it('region-kill: every service fails over, payments loses and duplicates nothing', async () => {
    const r = await expectPass('region-kill');
    for (const s of ['login', 'payments', 'messaging'] as const) {
      expect(r.services[s].failedOver).toBe(true);
      expect(r.services[s].rtoMs).not.toBeNull();
    }
    expect(r.services.payments.lostAckedWrites).toBe(0);
    expect(r.services.payments.duplicateWrites).toBe(0);
    expect(r.services.payments.ackedWrites).toBeGreaterThan(0);
    // sign-outs and rotations acknowledged under load, presented again after the failover
    expect(r.services.login.invariants.everyAckedRevocationInForce).toBe(true);
    // its Postgres refused the connection: gone, not slow, so no lease to wait out
    expect(r.phases.payments?.steps?.leaseMs).toBeUndefined();
  }, 180_000);

  it('region-freeze: failover, then the thawed old primaries accept no write', async () => {
    const r = await expectPass('region-freeze', { durationMs: 10_000 });
    expect(r.checks.some((c) => c.name.startsWith('split-brain: payments'))).toBe(true);
    // a frozen region may still be alive: the promotion came only once the lease it may hold had run
    // out, no sooner than its last grant (its own `lease` step, when it was not over already), and no
    // retry-safe request failed meanwhile (the verdict's own rule: none is tolerated any more)
    const promoted = r.events.find((e) => e.type === 'promoted' && e.service === 'payments');
    expect(promoted).toBeDefined();
    expect(r.services.payments.failedOver).toBe(true);
  }, 180_000);

  it('edge-partition: the cut-off old primaries fence themselves (lease) before the router promotes', async () => {
    const r = await expectPass('edge-partition', { durationMs: 12_000 });
    const lease = r.checks.filter((c) => c.name.includes('fenced itself (lease) before the promotion'));
    expect(lease.map((c) => c.ok)).toEqual([true, true, true]);
  }, 240_000);

  it('replication-cut: payments degrades to async within its bound, and sync stays off until the heal', async () => {
    const r = await expectPass('replication-cut', { durationMs: 16_000 });
    expect(Object.values(r.services).every((s) => !s.failedOver)).toBe(true);
    expect(r.events.some((e) => e.type === 'degraded_async' && e.service === 'payments')).toBe(true);
    expect(r.checks.find((c) => c.name === 'payments sync not restored while the link is cut')?.ok).toBe(
      true,
    );
  }, 240_000);

  it('db-kill: payments moves alone', async () => {
    const r = await expectPass('db-kill');
    expect(r.services.payments.failedOver).toBe(true);
    expect(r.services.login.failedOver).toBe(false);
    expect(r.services.messaging.failed).toBe(0);
  }, 180_000);

  it('standby-loss: payments degrades to async and keeps serving, no failover', async () => {
    const r = await expectPass('standby-loss');
    expect(r.services.payments.failedOver).toBe(false);
    expect(r.events.some((e) => e.type === 'degraded_async' && e.service === 'payments')).toBe(true);
  }, 180_000);

  it('app-crash: restarted in place, no failover', async () => {
    const r = await expectPass('app-crash');
    expect(Object.values(r.services).every((s) => !s.failedOver)).toBe(true);
  }, 180_000);

  it('restore: the old region rejoins as standby under load and sync returns', async () => {
    await expectPass('restore');
  }, 240_000);

  it('switchover: every service moves under load, nothing lost or duplicated; the pause is measured', async () => {
    const r = await expectPass('switchover');
    for (const s of ['login', 'payments', 'messaging'] as const) {
      expect(r.services[s].failedOver).toBe(true);
      expect(r.services[s].lostAckedWrites).toBe(0);
      expect(r.services[s].duplicateWrites).toBe(0);
    }
    expect(r.checks.filter((c) => c.name.endsWith('switched over (pause)')).map((c) => c.ok)).toEqual([
      true,
      true,
      true,
    ]);
  }, 240_000);

  // The sequence, with an audit after every step; it covers restore-after-thaw (the same chain
  // up to "restore B"), which runs by itself under `npm run drill -- restore-after-thaw`.
  it('sequence: freeze → failover → thaw → kill the new primary database → restore both, audited at each step', async () => {
    const r = await expectPass('sequence');
    expect(r.steps?.map((s) => s.fault.kind)).toEqual([
      'region_freeze',
      'region_thaw',
      'component_kill',
      'region_restore',
      'region_restore',
    ]);
    for (const step of r.steps!) {
      expect(step.audit.payments.lostAckedWrites, step.name).toBe(0);
      expect(
        step.checks.every((c) => c.ok),
        JSON.stringify(step.checks),
      ).toBe(true);
    }
    // the restores (steps 4 and 5) read every acknowledged payment back from the router's primary
    expect([r.steps![3]!.audit.payments.audited, r.steps![4]!.audit.payments.audited]).toEqual([true, true]);
    expect(r.steps![4]!.audit.payments.ackedWrites).toBeGreaterThan(0);
    expect(r.services.payments.lostAckedWrites).toBe(0);
    expect(r.services.payments.ackedWrites).toBeGreaterThan(0);
  }, 420_000);

  it('the audit catches loss: an acked message deleted, revocations undone on the primary fail the drill', async () => {
    let deleted: string | null = null;
    // standby-loss: messaging does not fail over, so no loss of it is excusable.
    const report = await runDrill(short('standby-loss', { outDir: path.join(outRoot, 'loss') }), env, {
      beforeAudit: async ({ records, admin }) => {
        const acked = [...acknowledgedWrites(records, 'messaging').values()].sort(
          (a, b) => a.endMs - b.endMs,
        );
        deleted = acked[0]!.writeId; // acknowledged during the warm-up: no excuse to lose it
        const region = (await admin.primaryRegion('messaging'))!;
        const cell = lab.topo.cells.find((c) => c.service === 'messaging' && c.region === region)!;
        const client = new pg.Client({
          ...cell.postgres,
          user: 'app',
          password: appPassword,
          database: 'messaging',
        });
        await client.connect();
        try {
          const { rowCount } = await client.query('DELETE FROM messages WHERE id = $1', [deleted]);
          expect(rowCount).toBe(1);
        } finally {
          await client.end();
        }
        // what a failover that lost them would leave: every sign-out and rotation of this drill undone
        const loginRegion = (await admin.primaryRegion('login'))!;
        const loginCell = lab.topo.cells.find((c) => c.service === 'login' && c.region === loginRegion)!;
        const login = new pg.Client({
          ...loginCell.postgres,
          user: 'app',
          password: appPassword,
          database: 'login',
        });
        await login.connect();
        try {
          await login.query(
            `UPDATE session_families SET revoked_at = NULL, revoked_reason = NULL WHERE revoked_at IS NOT NULL;
             UPDATE refresh_tokens SET rotated_at = NULL WHERE rotated_at IS NOT NULL;
             DELETE FROM revoked_access_tokens`,
          );
        } finally {
          await login.end();
        }
      },
    });
    expect(report.verdict).toBe('fail');
    expect(report.services.messaging.lostAckedWrites).toBe(1);
    expect(report.services.messaging.lostSample).toEqual([deleted]);
    expect(report.reasons.join('\n')).toMatch(/messaging lost 1 acknowledged write/);
    expect(report.services.login.invariants.everyAckedRevocationInForce).toBe(false);
    expect(report.reasons.join('\n')).toMatch(/login invariant broken: everyAckedRevocationInForce/);
  }, 180_000);
});
