// Which Prometheus metrics the code exports, and which ones a PromQL expression reads — so the
// dashboard and the alerts can be checked against the code instead of against a list kept by hand.
import { readFileSync } from 'node:fs';
import { listFiles, repoPath } from './repo';

/** Where prom-client metrics are defined: the services (and their shared kit) and the router. */
export const METRIC_SOURCE_DIRS = ['services', 'infra/router/src'];

// `new Counter({ name: 'x' … })` and the kit's `metrics.counter('x', …)` helpers.
const DEFINITION =
  /(?:\bname:\s*|\.(?:counter|gauge|histogram|summary)\(\s*)['"`]([a-zA-Z_:][a-zA-Z0-9_:]*)['"`]/g;

export function exportedMetricNames(): Set<string> {
  const names = new Set<string>();
  for (const dir of METRIC_SOURCE_DIRS) {
    const files = listFiles(
      repoPath(dir),
      (n) => n.endsWith('.ts') && !n.endsWith('.test.ts') && !n.endsWith('.d.ts'),
    );
    for (const file of files) {
      if (file.includes('/test/') || file.includes('/bench/')) continue;
      const text = readFileSync(file, 'utf8');
      if (!/prom-client|\.(?:counter|gauge|histogram|summary)\(/.test(text)) continue;
      for (const m of text.matchAll(DEFINITION)) {
        // Prometheus metric names are snake_case with at least one underscore in this project
        // (<component>_<thing>_<unit>); anything else named `name:` is not a metric.
        if (/^[a-z][a-z0-9]*(_[a-z0-9]+)+$/.test(m[1]!)) names.add(m[1]!);
      }
    }
  }
  return names;
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/** Metric names a PromQL expression selects (not functions, labels, keywords, durations or variables). */
export function metricNamesInPromQL(expr: string): Set<string> {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range / subquery durations (and $__rate_interval)
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // grouping labels
    .replace(/\$\w+/g, ' '); // Grafana variables
  const names = new Set<string>();
  for (const m of stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, token, call] = m;
    if (call) continue; // a function or an aggregation
    if (KEYWORDS.has(token!.toLowerCase())) continue;
    const before = stripped[m.index! - 1];
    if (before !== undefined && /[0-9.]/.test(before)) continue; // the unit of a number like 1e3 / 5m
    names.add(token!);
  }
  return names;
}

/** A queried name is covered when the code exports it, or it is a histogram/summary series of one that is. */
export function isExported(name: string, exported: ReadonlySet<string>): boolean {
  if (exported.has(name)) return true;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && exported.has(base);
}
