import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProgressTally } from '@failover-lab/drill';
import { afterAll, describe, expect, it } from 'vitest';
import {
  listDrills,
  parseProgressLine,
  readReportHtml,
  reportDir,
  validateDrillRequest,
} from '../src/drills';

const root = mkdtempSync(join(tmpdir(), 'console-drills-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function writeReport(dir: string, scenario: string, injectedAt: string, verdict = 'pass') {
  mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(
    join(root, dir, 'report.json'),
    JSON.stringify({
      scenario,
      verdict,
      reasons: [],
      fault: { kind: 'region_kill', target: 'dc-a', injectedAt },
      services: { payments: { requests: 10, failed: 1, rtoMs: 0, maxStallMs: 400 } },
    }),
  );
  writeFileSync(join(root, dir, 'report.html'), `<html><body>${scenario}</body></html>`);
}

describe('drill history', () => {
  writeReport('region-kill-2026-01-01T00-00-00-000Z', 'region-kill', '2026-01-01T00:00:10.000Z');
  writeReport('e2e-run/db-kill', 'db-kill', '2026-01-02T00:00:10.000Z', 'fail');
  mkdirSync(join(root, 'console'), { recursive: true }); // traffic records, not a report
  mkdirSync(join(root, 'half-written'), { recursive: true });
  writeFileSync(join(root, 'half-written', 'report.json'), '{"scen');

  it('lists every report, one level deep too, newest fault first, skipping what is not a report', () => {
    const drills = listDrills(root);
    expect(drills.map((d) => d.id)).toEqual(['e2e-run/db-kill', 'region-kill-2026-01-01T00-00-00-000Z']);
    expect(drills[0]).toMatchObject({ scenario: 'db-kill', verdict: 'fail', hasHtml: true });
    expect(drills[1]!.services.payments).toEqual({ requests: 10, failed: 1, rtoMs: 0, maxStallMs: 400 });
  });

  it('opens a report by id and refuses anything that is not a report folder name', async () => {
    expect(await readReportHtml(root, 'e2e-run/db-kill')).toContain('db-kill');
    for (const bad of ['../etc', 'a/../../b', '/etc/passwd', '.lab', 'a/b/c', '', 42, null, 'a\\b']) {
      expect(() => reportDir(root, bad), String(bad)).toThrow(
        expect.objectContaining({ code: 'CONSOLE_ERR_VALIDATION' }),
      );
    }
    await expect(readReportHtml(root, 'no-such-drill')).rejects.toMatchObject({
      code: 'CONSOLE_ERR_NOT_FOUND',
    });
  });
});

describe('drill progress lines', () => {
  it("reads the drill's own progress line (ProgressTally.line), so the two cannot drift apart", () => {
    const tally = new ProgressTally();
    const record = {
      startMs: 0,
      endMs: 1,
      status: 200,
      servedBy: 'dc-a' as const,
      writeId: null,
      error: null,
    };
    tally.add({ ...record, service: 'payments', op: 'balance', ok: true });
    tally.add({ ...record, service: 'payments', op: 'balance', ok: false });
    tally.add({ ...record, service: 'login', op: 'me', ok: true });
    const line = tally.line(
      'region-kill',
      {
        elapsedMs: 12_345,
        scheduled: 500,
        sent: 494,
        dropped: 6,
        inFlight: 3,
        maxInFlight: 9,
        iterationErrors: 0,
        perOp: {},
      },
      'after fault',
    );
    expect(parseProgressLine(line)).toEqual({
      elapsedS: 12.3,
      phase: 'after fault',
      reqPerSec: 40,
      services: {
        login: { ok: 1, failed: 0 },
        payments: { ok: 1, failed: 1 },
        messaging: { ok: 0, failed: 0 },
      },
      dropped: 6,
    });
    expect(parseProgressLine('setup: 8 users, 8 accounts seeded, run r1')).toBeNull();
  });
});

describe('drill requests', () => {
  it('takes a known scenario and bounded integers, with defaults', () => {
    expect(validateDrillRequest({ scenario: 'db-kill' })).toEqual({
      scenario: 'db-kill',
      warmupS: 6,
      durationS: 24,
      ratePerSec: 40,
      users: 8,
    });
    for (const bad of [
      null,
      [],
      { scenario: 'meteor' },
      { scenario: 'db-kill', durationS: 0 },
      { scenario: 'db-kill', durationS: 1.5 },
      { scenario: 'db-kill', ratePerSec: 1000 },
      { scenario: 'db-kill', warmupS: '6' },
      { scenario: 'db-kill', out: '/tmp' },
    ]) {
      expect(() => validateDrillRequest(bad), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'CONSOLE_ERR_VALIDATION' }),
      );
    }
  });
});
