// Grafana provisioning and the failover dashboard: valid JSON/YAML, pointing at the provisioned data
// source, and every query naming a metric the code exports.

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exportedMetricNames, isExported, metricNamesInPromQL } from './helpers/metrics';
import { listFiles, readRepoFile, relativeToRepo, repoPath } from './helpers/repo';

interface Target {
  expr: string;
  datasource?: { uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Target[];
  datasource?: { uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  annotations: { list: { name: string; expr?: string; datasource?: { uid: string } }[] };
}

const datasources = (
  parse(readRepoFile('infra', 'grafana', 'provisioning', 'datasources', 'prometheus.yml')) as {
    datasources: { uid: string; type: string; url: string }[];
  }
).datasources;
const DASHBOARD_FILES = listFiles(repoPath('infra', 'grafana', 'dashboards'), (n) => n.endsWith('.json'));
const dashboards = DASHBOARD_FILES.map((f) => ({
  file: relativeToRepo(f),
  dashboard: JSON.parse(readRepoFile(relativeToRepo(f))) as Dashboard,
}));

function queries(d: Dashboard): { where: string; expr: string; uid: string | undefined }[] {
  const fromPanels = d.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      where: `panel "${p.title}"`,
      expr: t.expr,
      uid: t.datasource?.uid ?? p.datasource?.uid,
    })),
  );
  const fromAnnotations = d.annotations.list
    .filter((a) => a.expr !== undefined)
    .map((a) => ({ where: `annotation "${a.name}"`, expr: a.expr!, uid: a.datasource?.uid }));
  return [...fromPanels, ...fromAnnotations];
}

describe('Grafana provisioning', () => {
  it('provisions the compose Prometheus as the data source', () => {
    expect(datasources).toHaveLength(1);
    expect(datasources[0]).toMatchObject({
      uid: 'prometheus',
      type: 'prometheus',
      url: 'http://prometheus:9090',
    });
  });

  it('loads dashboards from the directory docker-compose.yml mounts them into', () => {
    const provider = parse(
      readRepoFile('infra', 'grafana', 'provisioning', 'dashboards', 'failover-lab.yml'),
    ) as {
      providers: { options: { path: string } }[];
    };
    expect(readRepoFile('docker-compose.yml')).toContain(
      `./infra/grafana/dashboards:${provider.providers[0]!.options.path}:ro`,
    );
  });
});

describe('failover dashboard', () => {
  it('parses, and has the panels the failover story needs', () => {
    expect(dashboards.map((d) => d.file)).toContain('infra/grafana/dashboards/failover.json');
    const { dashboard } = dashboards.find((d) => d.file.endsWith('failover.json'))!;
    const exprs = queries(dashboard)
      .map((q) => q.expr)
      .join('\n');
    // per-service success rate and latency, cell health, epoch, replication lag, failover events
    for (const metric of [
      'router_requests_total',
      'router_request_duration_seconds_bucket',
      'cell_up',
      'controller_epoch',
      'cell_replication_lag_bytes',
    ]) {
      expect(exprs, metric).toContain(metric);
    }
    expect(dashboard.annotations.list.some((a) => a.expr?.includes('controller_events_total'))).toBe(true);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('every query uses the provisioned data source', () => {
    for (const { file, dashboard } of dashboards) {
      for (const q of queries(dashboard)) expect(q.uid, `${file} ${q.where}`).toBe(datasources[0]!.uid);
    }
  });

  it('every query names only metrics the code exports (services/, infra/router)', () => {
    const exported = exportedMetricNames();
    const missing: string[] = [];
    for (const { file, dashboard } of dashboards) {
      for (const q of queries(dashboard)) {
        const names = metricNamesInPromQL(q.expr);
        expect(names.size, `${file} ${q.where}: no metric in ${q.expr}`).toBeGreaterThan(0);
        for (const name of names) if (!isExported(name, exported)) missing.push(`${q.where}: ${name}`);
      }
    }
    expect(missing, `not exported by any prom-client definition: ${missing.join(', ')}`).toEqual([]);
  });
});

describe('the PromQL metric-name reader used above', () => {
  it('finds selectors, ignores functions, labels, grouping, durations and variables', () => {
    expect(
      metricNamesInPromQL(
        'histogram_quantile(0.99, sum by (service, le) (rate(router_request_duration_seconds_bucket{service="x"}[$__rate_interval])))',
      ),
    ).toEqual(new Set(['router_request_duration_seconds_bucket']));
    expect(
      metricNamesInPromQL(
        '(sum by (service) (increase(a_total{type="promoted"}[10m])) > 0) or (max by (service) (changes(b_epoch[10m])) > 0)',
      ),
    ).toEqual(new Set(['a_total', 'b_epoch']));
    expect(metricNamesInPromQL('cell_role == 1')).toEqual(new Set(['cell_role']));
    expect(metricNamesInPromQL('x_bytes > 16 * 1e3')).toEqual(new Set(['x_bytes']));
  });

  it('maps histogram series to their metric', () => {
    const exported = new Set(['router_request_duration_seconds']);
    expect(isExported('router_request_duration_seconds_bucket', exported)).toBe(true);
    expect(isExported('router_request_duration_seconds_count', exported)).toBe(true);
    expect(isExported('router_request_seconds_bucket', exported)).toBe(false);
  });
});
