// The k6 scripts cannot run here (no k6 on this machine: loadtests/README.md). What can be checked
// without k6 is checked: they parse, they use the open model and SLO thresholds, every op they tag
// is one the drill knows, writes carry wid, and every documented k6 command opts out of usage reports.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DRILL_OPS } from '../infra/drill/src/k6/parse';
import { WRITE_OPS } from '../infra/drill/src/records';
import { listFiles, readRepoFile, relativeToRepo, repoPath } from './helpers/repo';

const SCRIPTS = listFiles(repoPath('loadtests'), (n) => n.endsWith('.js'));
const LIB = readRepoFile('loadtests', 'lib', 'failover-lab.js');

describe('loadtests/', () => {
  it('every script parses as an ES module', () => {
    expect(SCRIPTS.map(relativeToRepo).sort()).toEqual([
      'loadtests/failover.js',
      'loadtests/lib/failover-lab.js',
      'loadtests/steady.js',
    ]);
    for (const script of SCRIPTS) {
      const result = spawnSync(process.execPath, ['--check', script], { encoding: 'utf8' });
      expect(result.status, `${relativeToRepo(script)}: ${result.stderr}`).toBe(0);
    }
  });

  it('steady.js and failover.js: constant-arrival-rate per service, http_req_failed and p(99) thresholds', () => {
    expect(LIB).toContain("executor: 'constant-arrival-rate'");
    for (const script of ['steady.js', 'failover.js']) {
      const text = readRepoFile('loadtests', script);
      expect(text, script).toContain('scenariosFor(');
      expect(text, script).toMatch(/http_req_failed\{service:\$\{service\}\}/);
      expect(text, script).toMatch(/http_req_duration\{service:\$\{service\}\}.*p\(99\)</s);
    }
  });

  it('every op the scripts tag is a drill op, and every write op carries wid', () => {
    const tagged = new Set([...LIB.matchAll(/\[\d+, '([a-z]+)'\]/g)].map((m) => m[1]!));
    expect(tagged.size).toBeGreaterThan(0);
    for (const op of tagged) expect(DRILL_OPS.has(op), op).toBe(true);
    const writes = [...tagged].filter((op) => WRITE_OPS.has(op as never));
    expect(writes.sort()).toEqual(['send', 'signup', 'transfer']);
    // each write request is tagged with its wid and followed by its check (served_by, err, d_*)
    expect(LIB.match(/tags: \{ service: '[a-z]+', op, wid \}/g)).toHaveLength(writes.length);
    expect(LIB.match(/recordWrite\(res, '[a-z]+', op, wid/g)).toHaveLength(writes.length);
  });

  it('every documented k6 command passes --no-usage-report', () => {
    const docs = ['loadtests/README.md', 'docs/docker.md'];
    let commands = 0;
    for (const doc of docs) {
      for (const line of readRepoFile(doc).split('\n')) {
        if (!/\bk6 run\b/.test(line) || !/^\s*(\S+=\S+\s+)*k6 run/.test(line)) continue;
        commands++;
        expect(line, doc).toContain('--no-usage-report');
      }
    }
    expect(commands).toBeGreaterThan(0);
    const compose = readRepoFile('docker-compose.yml');
    const k6 = compose.slice(compose.indexOf('\n  k6:'));
    expect(k6).toContain('- --no-usage-report');
    expect(k6).toContain('- experimental-prometheus-rw');
    expect(k6).toContain('K6_PROMETHEUS_RW_SERVER_URL: http://prometheus:9090/api/v1/write');
  });
});
