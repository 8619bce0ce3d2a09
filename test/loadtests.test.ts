// The k6 scripts cannot run here (no k6 on this machine: loadtests/README.md). What can be checked
// without k6 is checked: they are ES2015 modules (what k6 v0.48's old Babel accepts), none of their
// variables is a K6_* name (k6 takes those as its own options), their plan has integer rates that add
// up to the asked total, follows the drill's mix and stays inside login's sign-in limits, every op
// they tag is one the drill knows, writes carry wid, and every documented k6 command opts out of
// usage reports.
import { parse as parseJs } from 'acorn';
import { describe, expect, it } from 'vitest';
import { DRILL_OPS } from '../infra/drill/src/k6/parse';
import { MIX as DRILL_MIX } from '../infra/drill/src/load/workload';
import { WRITE_OPS } from '../infra/drill/src/records';
import { loadLoginSettings } from '../services/login/src/settings';
import { listFiles, readRepoFile, relativeToRepo, repoPath } from './helpers/repo';

const SCRIPTS = listFiles(repoPath('loadtests'), (n) => n.endsWith('.js'));
const LIB = readRepoFile('loadtests', 'lib', 'failover-lab.js');

// node loads the pure plan module as is: the same file k6 runs
import * as plan from '../loadtests/lib/plan.js';

describe('loadtests/ syntax (k6 v0.48 compiles with an old Babel)', () => {
  it('every script parses as an ES2015 module (no spread, numeric separators, ?., ??, trailing call commas)', () => {
    expect(SCRIPTS.map(relativeToRepo).sort()).toEqual([
      'loadtests/failover.js',
      'loadtests/lib/failover-lab.js',
      'loadtests/lib/plan.js',
      'loadtests/steady.js',
    ]);
    for (const script of SCRIPTS) {
      const source = readRepoFile(relativeToRepo(script));
      expect(
        () => parseJs(source, { ecmaVersion: 2015, sourceType: 'module' }),
        relativeToRepo(script),
      ).not.toThrow();
    }
  });

  it('the ES2015 check does reject what k6 v0.48 rejects', () => {
    for (const bad of [
      'const a = { ...b };',
      'const n = 1_000_000;',
      'const x = a?.b;',
      'const y = a ?? b;',
      'f(a,\n);',
    ])
      expect(() => parseJs(bad, { ecmaVersion: 2015, sourceType: 'module' }), bad).toThrow();
  });

  it('no script reads a K6_* variable (k6 would take it as its own option)', () => {
    for (const script of SCRIPTS) {
      const source = readRepoFile(relativeToRepo(script));
      expect(source.match(/__ENV\.K6_\w+|__ENV\[['"]K6_/g) ?? [], relativeToRepo(script)).toEqual([]);
    }
    const compose = readRepoFile('docker-compose.yml');
    const k6 = compose.slice(compose.indexOf('\n  k6:'), compose.indexOf('\nnetworks:'));
    // only k6's own output options may be K6_* in its environment
    const k6Vars = [...k6.matchAll(/^\s+(K6_\w+):/gm)].map((m) => m[1]);
    expect(k6Vars.sort()).toEqual(['K6_PROMETHEUS_RW_SERVER_URL', 'K6_PROMETHEUS_RW_TREND_STATS']);
  });
});

describe('the load plan (loadtests/lib/plan.js)', () => {
  it('follows the drill’s own mix', () => {
    expect(plan.MIX).toEqual(DRILL_MIX);
    for (const op of Object.keys(plan.MIX)) expect(DRILL_OPS.has(op), op).toBe(true);
  });

  it('integer rates per op that add up to exactly the total asked (a "40 req/s" run offers 40)', () => {
    for (const total of [1, 3, 7, 40, 41, 100, 333]) {
      const rates = plan.ratesPerMinute(total);
      for (const rate of Object.values(rates)) expect(Number.isInteger(rate)).toBe(true);
      expect(Object.values(rates).reduce((a, b) => a + b, 0)).toBe(total * 60);
    }
    const scenarios = plan.scenariosFor(40, '30s');
    for (const [name, s] of Object.entries(scenarios)) {
      expect(s.exec).toBe(name);
      expect(s.timeUnit).toBe('1m');
      expect(Number.isInteger(s.rate)).toBe(true);
    }
    expect(() => plan.ratesPerMinute(40 / 3)).toThrow(/whole number/);
  });

  it('stays inside login’s default sign-in limits at the drill’s defaults, and says so when it would not', () => {
    const settings = loadLoginSettings({});
    expect(plan.LOGIN_LIMITS).toEqual({
      perUsername: settings.signInLimitPerUsername.limit,
      perIp: settings.signInLimitPerIp.limit,
      windowSeconds: settings.signInLimitPerUsername.windowSeconds,
    });
    expect(plan.loginLimitProblem(40, 8)).toBeNull();
    expect(plan.loginLimitProblem(400, 1)).toMatch(/per-user limit/);
    expect(plan.loginLimitProblem(1000, 100)).toMatch(/per-address limit/);
  });

  it('the scripts export one function per op and refuse a plan that trips the limiter', () => {
    for (const script of ['steady.js', 'failover.js']) {
      const text = readRepoFile('loadtests', script);
      expect(text, script).toContain('scenariosFor(RATE, DURATION)');
      expect(text, script).toContain('loginLimitProblem(RATE, USERS)');
      // the scripts' own template literals, as text
      expect(text, script).toContain(`\`http_req_failed{service:$${'{'}service}}\``);
      expect(text, script).toContain(`\`http_req_duration{service:$${'{'}service}}\``);
      for (const op of Object.keys(plan.MIX))
        expect(text, `${script} exports ${op}`).toMatch(new RegExp(`export \\{[^}]*\\b${op}\\b`));
    }
  });
});

describe('what the scripts record', () => {
  it('every write op is tagged with its wid and followed by its check', () => {
    const writes = Object.keys(plan.MIX).filter((op) => WRITE_OPS.has(op as never));
    expect(writes.sort()).toEqual(['send', 'signup', 'transfer']);
    for (const op of writes) {
      expect(LIB, op).toContain(`op: '${op}', wid: wid`);
      expect(LIB, op).toMatch(new RegExp(`recordWrite\\(res, '[a-z]+', '${op}', wid`));
    }
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
