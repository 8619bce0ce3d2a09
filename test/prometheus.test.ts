// Prometheus config and alert rules: promtool's own checks and unit tests, runbook links, and that
// every alert reads metrics the code exports.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exportedMetricNames, isExported, metricNamesInPromQL } from './helpers/metrics';
import { listFiles, REPO_ROOT, readRepoFile, relativeToRepo, repoPath, which } from './helpers/repo';

const PROMTOOL = which('promtool');
const RULE_FILES = listFiles(repoPath('infra', 'prometheus', 'rules'), (n) => n.endsWith('.yml')).filter(
  (f) => !f.includes('/tests/'),
);

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: Record<string, string>;
}
const rules: Rule[] = RULE_FILES.flatMap((file) =>
  (parse(readRepoFile(relativeToRepo(file))) as { groups: { rules: Rule[] }[] }).groups.flatMap(
    (g) => g.rules,
  ),
);
const alerts = rules.filter((r) => r.alert !== undefined);

function promtool(...args: string[]) {
  const result = spawnSync(PROMTOOL!, args, { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const SUITE = PROMTOOL
  ? `promtool (${PROMTOOL})`
  : 'promtool — SKIPPED: promtool is not on PATH (apt-get install prometheus)';
describe(SUITE, () => {
  it.skipIf(!PROMTOOL)('check config: prometheus.compose.yml (and the rule files it loads)', () => {
    const { status, output } = promtool('check', 'config', 'infra/prometheus/prometheus.compose.yml');
    expect(output).toContain('SUCCESS');
    expect(status, output).toBe(0);
  });

  it.skipIf(!PROMTOOL)('check rules: every rule file', () => {
    expect(RULE_FILES.length).toBeGreaterThan(0);
    const { status, output } = promtool('check', 'rules', ...RULE_FILES.map(relativeToRepo));
    expect(status, output).toBe(0);
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it.skipIf(!PROMTOOL)('test rules: each alert fires on its story and stays quiet on the healthy one', () => {
    const tests = listFiles(repoPath('infra', 'prometheus', 'rules', 'tests'), (n) => n.endsWith('.yml'));
    expect(tests.length).toBeGreaterThan(0);
    const { status, output } = promtool('test', 'rules', ...tests.map(relativeToRepo));
    expect(status, output).toBe(0);
    // every alert has at least one unit test that expects it to fire
    const testText = tests.map((t) => readRepoFile(relativeToRepo(t))).join('\n');
    for (const alert of alerts)
      expect(testText, alert.alert).toMatch(new RegExp(`alertname: ${alert.alert}\\b`));
  });
});

describe('alert rules', () => {
  it('cover region down, failover happened, replication lag high and RPO guarantee suspended', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual(
      ['FailoverHappened', 'RegionDown', 'ReplicationLagHigh', 'RpoGuaranteeSuspended'].sort(),
    );
  });

  it('each links runbooks/alerts/<AlertName>.md, which exists with the standard headings', () => {
    for (const alert of alerts) {
      const url = alert.annotations?.runbook_url;
      expect(url, alert.alert).toBe(`runbooks/alerts/${alert.alert}.md`);
      expect(existsSync(repoPath(url!)), url).toBe(true);
      const runbook = readRepoFile(url!);
      for (const heading of ['Meaning', 'Impact', 'Diagnosis', 'Mitigation', 'Verification', 'Rollback']) {
        expect(runbook, `${url}: ## ${heading}`).toMatch(new RegExp(`^## ${heading}$`, 'm'));
      }
      expect(runbook, `${url} links back to its alert`).toContain(`\`${alert.alert}\``);
      expect(runbook, `${url} has lab commands`).toContain('npm run lab -- ');
    }
  });

  it('every alert expression reads only metrics the code exports (services/, infra/router)', () => {
    const exported = exportedMetricNames();
    const missing: string[] = [];
    for (const alert of alerts) {
      for (const name of metricNamesInPromQL(alert.expr)) {
        if (!isExported(name, exported)) missing.push(`${alert.alert}: ${name}`);
      }
    }
    expect(missing, `not exported by any prom-client definition: ${missing.join(', ')}`).toEqual([]);
  });
});
