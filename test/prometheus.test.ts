// Prometheus config and alert rules: promtool's own checks and unit tests, runbook links, and that
// every alert reads metrics the code exports.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
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

// `npm test` installs prometheus first (pretest: lab setup): a missing promtool is a failure, not a skip.
describe('promtool', () => {
  it('is installed', () => {
    expect(PROMTOOL, 'promtool is not on PATH: npm run lab -- setup').toBeTruthy();
  });

  it('check config: prometheus.compose.yml (and the rule files it loads)', () => {
    const { status, output } = promtool('check', 'config', 'infra/prometheus/prometheus.compose.yml');
    expect(output).toContain('SUCCESS');
    expect(status, output).toBe(0);
  });

  it('check rules: every rule file', () => {
    expect(RULE_FILES.length).toBeGreaterThan(0);
    const { status, output } = promtool('check', 'rules', ...RULE_FILES.map(relativeToRepo));
    expect(status, output).toBe(0);
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('test rules: each alert fires on its story and stays quiet on the healthy one', () => {
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

describe('prometheus.compose.yml scraping the router (real Prometheus)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prom-router-job-'));
  let target: Server | undefined;
  let prometheus: ChildProcess | undefined;
  afterAll(() => {
    prometheus?.kill('SIGKILL');
    target?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the region the router puts on its series (no region="edge", no exported_region)', async () => {
    const subnet = 100 + Math.floor(Math.random() * 151);
    const host = `127.${subnet}.0.9`;
    // the router's own exposition, as infra/router/src/metrics.ts writes it
    target = createServer((_req, res) => {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(
        'cell_up{service="payments",region="dc-a"} 0\ncell_up{service="payments",region="dc-b"} 1\n' +
          'router_requests_total{service="payments",region="dc-b",outcome="ok"} 7\n',
      );
    });
    await new Promise<void>((resolve) => target!.listen(0, host, resolve));
    const port = (target.address() as AddressInfo).port;
    const compose = parse(readRepoFile('infra', 'prometheus', 'prometheus.compose.yml')) as {
      global: unknown;
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const job = compose.scrape_configs.find((j) => j.job_name === 'router')!;
    // the compose job as it is, only its target moved to the stand-in on loopback
    for (const sc of job.static_configs) sc.targets = [`${host}:${port}`];
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, stringify({ global: compose.global, scrape_configs: [job] }));
    const promPort = 20_000 + Math.floor(Math.random() * 20_000);
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=${host}:${promPort}`,
      ],
      { stdio: 'ignore' },
    );
    const query = async (q: string) => {
      const res = await fetch(`http://${host}:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
      return ((await res.json()) as { data: { result: { metric: Record<string, string> }[] } }).data.result;
    };
    let series: { metric: Record<string, string> }[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      series = await query('cell_up').catch(() => []);
      if (series.length >= 2) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(series.map((s) => s.metric.region).sort()).toEqual(['dc-a', 'dc-b']);
    for (const s of series) expect(s.metric.exported_region).toBeUndefined();
    const requests = await query('router_requests_total');
    expect(requests.map((s) => s.metric.region)).toEqual(['dc-b']);
  });
});
