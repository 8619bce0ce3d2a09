// docker-compose.yml under a real Docker engine (infra/compose/test/global-setup.ts brought it up):
// the compose backend's every call against real containers, an app crash restarted by Docker's own
// restart policy, a dc-b standby recreated with its volume still streaming, Prometheus keeping the
// router's region labels, and two drills through `npm run drill -- --backend compose`: wan-latency
// (a link fault through the links container) and region-kill.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DrillReport } from '@failover-lab/contracts';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ComposeBackend } from '../../drill/src/backends/compose';
import { composeSettings, parseEnvFile } from '../../drill/src/backends/compose-settings';
import { REPO_ROOT, runCompose } from '../src/compose-cmd';

const stack = inject('composeStack');
const env = { ...process.env, ...stack.env };
const settings = composeSettings(env, REPO_ROOT);
const backend = new ComposeBackend(
  { adminToken: settings.adminToken, appPassword: settings.appPassword },
  stack.project,
);
const outDir = mkdtempSync(join(tmpdir(), 'compose-e2e-drill-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(500);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

function docker(...args: string[]): string {
  const result = spawnSync('docker', args, { encoding: 'utf8', env });
  if (result.status !== 0) throw new Error(`docker ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}
const containerOf = (service: string) =>
  docker(
    'ps',
    '-aq',
    '--filter',
    `label=com.docker.compose.project=${stack.project}`,
    '--filter',
    `label=com.docker.compose.service=${service}`,
  );

const secrets = parseEnvFile(readFileSync(stack.envFile, 'utf8'));

/**
 * psql as the superuser on a cell Postgres's own socket (pg_hba: scram there too, refused over TCP).
 * The password is named on docker's command line (`-e PGPASSWORD`), its value comes from this
 * process's environment: never on an argv.
 */
function psql(
  service: string,
  db: string,
  sql: string,
  password: string | null = secrets.POSTGRES_PASSWORD!,
) {
  const args = [
    'exec',
    '-e',
    'PGPASSWORD',
    containerOf(service),
    'psql',
    '-U',
    'postgres',
    '-d',
    db,
    '-XAtc',
    sql,
  ];
  const result = spawnSync('docker', args, {
    encoding: 'utf8',
    env: { ...env, PGPASSWORD: password ?? '' },
  });
  if (result.status !== 0) throw new Error(`psql on ${service}: ${result.stderr}`);
  return result.stdout.trim();
}

async function routerCellsUp(): Promise<Record<string, number>> {
  const text = await (await fetch(`${settings.routerUrl}/metrics`)).text();
  const up: Record<string, number> = {};
  for (const m of text.matchAll(/^cell_up\{service="(\w+)",region="([\w-]+)"\} (\d)/gm))
    up[`${m[1]}/${m[2]}`] = Number(m[3]);
  return up;
}

describe('the stack as `up --wait` left it', () => {
  it('the router sees all six cells up, through its published loopback address only', async () => {
    const up = await until('every cell up at the router', async () => {
      const cells = await routerCellsUp();
      return Object.keys(cells).length === 6 && Object.values(cells).every((v) => v === 1)
        ? cells
        : undefined;
    });
    expect(Object.keys(up).sort()).toEqual([
      'login/dc-a',
      'login/dc-b',
      'messaging/dc-a',
      'messaging/dc-b',
      'payments/dc-a',
      'payments/dc-b',
    ]);
    expect(settings.routerUrl).toBe(`http://${stack.address}:8080`);
  });

  it("the router's status shows messaging in the env file's topology (MESSAGING_TOPOLOGY)", async () => {
    const res = await fetch(`${settings.routerUrl}/admin/status`, {
      headers: { authorization: `Bearer ${settings.adminToken}` },
    });
    expect(res.status).toBe(200);
    const status = (await res.json()) as { services: Record<string, { topology: string }> };
    expect(status.services.messaging!.topology).toBe(secrets.MESSAGING_TOPOLOGY);
    expect(status.services.payments!.topology).toBe('active-passive');
  });

  it('Prometheus scrapes the router with its own region labels (no region="edge")', async () => {
    const series = await until('cell_up in Prometheus', async () => {
      const res = await fetch(`${settings.prometheusUrl}/api/v1/query?query=cell_up`);
      const body = (await res.json()) as { data: { result: { metric: Record<string, string> }[] } };
      return body.data.result.length >= 6 ? body.data.result : undefined;
    });
    expect(new Set(series.map((s) => s.metric.region))).toEqual(new Set(['dc-a', 'dc-b']));
    for (const s of series) expect(s.metric.exported_region).toBeUndefined();
  });

  it("the console answers on the edge with its own token and shows the router's routes, faults off", async () => {
    const consoleUrl = `http://${stack.address}:8090`;
    const token = parseEnvFile(readFileSync(stack.envFile, 'utf8')).CONSOLE_TOKEN;
    expect(token).toBeTruthy();
    expect((await fetch(`${consoleUrl}/api/session`)).status).toBe(401);
    const auth = { authorization: `Bearer ${token}` };
    const session = (await (await fetch(`${consoleUrl}/api/session`, { headers: auth })).json()) as {
      mode: string;
      capabilities: Record<string, boolean>;
    };
    expect(session.mode).toBe('compose');
    // No Docker socket in any container: what needs the engine stays with the host's CLI.
    const fault = await fetch(`${consoleUrl}/api/faults`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'kill', region: 'dc-a' }),
    });
    expect(fault.status).toBe(409);
    // The page's first stream message: the router's status as the console read it over the edge.
    const routes = await until(
      'the router status in the console stream',
      async () => {
        const res = await fetch(`${consoleUrl}/api/stream`, { headers: auth });
        const reader = res.body!.getReader();
        let text = '';
        try {
          while (!text.includes('\n\n')) {
            const { value, done } = await reader.read();
            if (done) break;
            text += new TextDecoder().decode(value);
          }
        } finally {
          await reader.cancel();
        }
        const data = text.split('\n').find((l) => l.startsWith('data: '));
        const snapshot = JSON.parse(data!.slice(6)) as {
          router: { ok: boolean; value: { services: Record<string, { primary: string }> } | null };
        };
        return snapshot.router.ok ? snapshot.router.value!.services : undefined;
      },
      60_000,
    );
    expect(Object.keys(routes).sort()).toEqual(['login', 'messaging', 'payments']);
  });

  it('pg_rewind can work: wal_log_hints is in the data dir config of both payments nodes', () => {
    for (const node of ['payments-dc-a-postgres', 'payments-dc-b-postgres'])
      expect(psql(node, 'payments', 'SHOW wal_log_hints'), node).toBe('on');
    expect(
      psql(
        'payments-dc-a-postgres',
        'payments',
        "SELECT sourcefile FROM pg_settings WHERE name = 'wal_log_hints'",
      ),
    ).toBe('/var/lib/postgresql/data/postgresql.conf');
  });
});

describe('every data-store role has a secret, and no secret is on a command line', () => {
  it('Postgres asks for a password on its own socket too; Redis answers nothing without one', () => {
    expect(psql('payments-dc-a-postgres', 'payments', 'SELECT 1')).toBe('1');
    expect(() => psql('payments-dc-a-postgres', 'payments', 'SELECT 1', null)).toThrow(
      /no password supplied|password authentication failed/,
    );
    expect(() => psql('payments-dc-a-postgres', 'payments', 'SELECT 1', 'wrong')).toThrow(
      /password authentication failed/,
    );
    const redis = containerOf('login-dc-a-redis');
    // the container's REDISCLI_AUTH authenticates redis-cli; without it, every command is refused
    expect(docker('exec', redis, 'redis-cli', 'PING')).toBe('PONG');
    expect(docker('exec', redis, 'sh', '-c', 'unset REDISCLI_AUTH; redis-cli SET flab-probe 1')).toMatch(
      /NOAUTH/,
    );
    // replication authenticates with masterauth: the dc-b replica is linked
    expect(docker('exec', containerOf('login-dc-b-redis'), 'redis-cli', 'INFO', 'replication')).toMatch(
      /master_link_status:up/,
    );
  });

  it("no secret in any container's command, entrypoint or health check, nor in the host's process list", () => {
    const values = Object.entries(secrets)
      .filter(([name]) => /PASSWORD|TOKEN|SIGNING_KEY/.test(name))
      .map(([, value]) => value)
      .filter((value) => value.length >= 16);
    expect(values.length).toBeGreaterThanOrEqual(6);
    const ids = docker('ps', '-q', '--filter', `label=com.docker.compose.project=${stack.project}`).split(
      '\n',
    );
    expect(ids.length).toBeGreaterThanOrEqual(18);
    for (const id of ids) {
      const visible = docker(
        'inspect',
        '-f',
        '{{json .Config.Cmd}} {{json .Config.Entrypoint}} {{json .Config.Healthcheck}} {{json .Path}} {{json .Args}}',
        id,
      );
      for (const value of values)
        expect(visible.includes(value), `a secret in the argv of ${id}`).toBe(false);
    }
    // every container's processes are processes of this host: what `ps` shows any local user
    const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
    for (const value of values) expect(ps.includes(value), 'a secret in the host process list').toBe(false);
  });
});

describe('the compose backend against real containers', () => {
  it("cellHttp: a cell's admin state through docker exec; countCellWrites: psql as app", async () => {
    const state = await backend.cells.cellHttp('payments', 'dc-a', { method: 'GET', path: '/admin/state' });
    expect(state.status, JSON.stringify(state)).toBe(200);
    expect(state.body).toMatchObject({ role: 'primary' });
    const standby = await backend.cells.cellHttp('payments', 'dc-b', { method: 'GET', path: '/admin/state' });
    expect(standby.body).toMatchObject({ role: 'standby' });
    expect(await backend.cells.countCellWrites('payments', 'dc-a', new Date(0))).toBeGreaterThanOrEqual(0);
    const wrong = new ComposeBackend(
      { adminToken: 'not-the-token-000000000000', appPassword: 'x' },
      stack.project,
    );
    expect(
      (await wrong.cells.cellHttp('payments', 'dc-a', { method: 'GET', path: '/admin/state' })).status,
    ).toBe(401);
  });

  it('an app crash (node SIGKILLed) is restarted in place by the restart policy; nothing fails over', async () => {
    const id = containerOf('messaging-dc-a-app');
    const restarts = () => Number(docker('inspect', '-f', '{{.RestartCount}}', id));
    const before = restarts();
    await backend.faults.apply({
      kind: 'component_kill',
      target: { region: 'dc-a', service: 'messaging', component: 'app' },
    });
    await until('the messaging app restarted', async () => (restarts() > before ? true : undefined), 30_000);
    await until(
      'the restarted app healthy',
      async () => (docker('inspect', '-f', '{{.State.Health.Status}}', id) === 'healthy' ? true : undefined),
      120_000,
    );
    const state = await backend.cells.cellHttp('messaging', 'dc-a', { method: 'GET', path: '/admin/state' });
    expect(state.body).toMatchObject({ role: 'primary' });
  });

  it('a recreated dc-b standby (new container, same volume) streams again as the sync standby', async () => {
    const code = await runCompose(
      ['up', '-d', '--no-deps', '--force-recreate', '--wait', 'payments-dc-b-postgres'],
      { env },
    );
    expect(code).toBe(0);
    const row = await until('dc-b streaming as sync standby', async () => {
      const out = psql(
        'payments-dc-a-postgres',
        'payments',
        "SELECT application_name || ' ' || state || ' ' || sync_state FROM pg_stat_replication",
      );
      return out === 'dc-b streaming sync' ? out : undefined;
    });
    expect(row).toBe('dc-b streaming sync');
  });
});

/** `npm run drill -- <scenario> --backend compose` against the stack; its report and exit code. */
async function drill(scenario: string): Promise<{ report: DrillReport; code: number }> {
  const out = join(outDir, scenario);
  const started = Date.now();
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'infra/drill/src/cli.ts', scenario, '--backend', 'compose', '--out', out],
      {
        cwd: REPO_ROOT,
        env,
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    child.once('error', reject);
    child.once('exit', (c) => resolve(c ?? 1));
  });
  process.stdout.write(`compose e2e: ${scenario} drill: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return { report: JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as DrillReport, code };
}

// Before region-kill, on the stack as `up` left it (primaries in dc-a): the router reaches every cell
// through the links container, and the drill slows router → dc-a through its control API.
describe('npm run drill -- wan-latency --backend compose (the links container)', () => {
  it('passes: 300 ms on router → dc-a for 20 s, no failover, nothing fails, the latency shows in p99', async () => {
    const { report, code } = await drill('wan-latency');
    expect(report.load.backend).toBe('compose');
    expect(report.linkFaults?.map((f) => `${f.kind} ${f.target}`)).toEqual(
      expect.arrayContaining(['link_latency edge→dc-a', 'link_heal edge→dc-a']),
    );
    for (const [service, s] of Object.entries(report.services)) {
      expect(s.failedOver, service).toBe(false);
      expect(s.lostAckedWrites, service).toBe(0);
      expect(s.duplicateWrites, service).toBe(0);
    }
    expect(report.verdict, report.reasons.join('; ')).toBe('pass');
    expect(code).toBe(0);
  });
});

describe('npm run drill -- region-kill --backend compose', () => {
  it('passes: dc-a killed under load, every service on dc-b, no acknowledged write lost or duplicated', async () => {
    const { report, code } = await drill('region-kill');
    expect(report.load.backend).toBe('compose');
    for (const [service, s] of Object.entries(report.services)) {
      expect(s.lostAckedWrites, service).toBe(0);
      expect(s.duplicateWrites, service).toBe(0);
      expect(s.failedOver, service).toBe(true);
      expect(s.ackedWrites, service).toBeGreaterThan(0);
    }
    expect(report.verdict, report.reasons.join('; ')).toBe('pass');
    expect(code).toBe(0);
  });
});

// After region-kill, on whichever region now holds messaging's primary. Compose has no replication
// link fault yet, so the standby's Postgres is taken off the replication network: a message
// acknowledged meanwhile is on the primary only, the primary's Postgres is killed, the router fails
// messaging over, and the old primary's `docker start` must export that message to quarantine
// before pg_rewind erases it. (`docker pause` of the standby does not fork: its kernel still takes
// the WAL into the socket's buffer, and the walreceiver writes it as soon as it is unpaused.)
describe('quarantine: a killed old primary is read before its rewind (postgres entrypoint)', () => {
  it.skipIf(secrets.MESSAGING_TOPOLOGY === 'active-active')(
    "a message acknowledged while the standby was cut off is in the quarantine file the backend's status and report read",
    async () => {
      const started = Date.now();
      const auth = { authorization: `Bearer ${settings.adminToken}` };
      const primaryOf = async () => {
        const res = await fetch(`${settings.routerUrl}/admin/status`, { headers: auth });
        const body = (await res.json()) as {
          services: Record<string, { primary: string; serving: boolean }>;
        };
        return body.services.messaging!;
      };
      const from = (await primaryOf()).primary;
      const to = from === 'dc-a' ? 'dc-b' : 'dc-a';
      const oldPrimary = containerOf(`messaging-${from}-postgres`);
      const standby = containerOf(`messaging-${to}-postgres`);
      await until('the standby streaming', async () =>
        psql(
          `messaging-${from}-postgres`,
          'postgres',
          "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
        ) === '1'
          ? true
          : undefined,
      );

      // a user and a session, through the router like any client
      const username = `quarantine-${Date.now()}`;
      const password = 'quarantine-password-0123';
      const json = { 'content-type': 'application/json' };
      const signup = await fetch(`${settings.routerUrl}/login/users`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ username, password }),
      });
      expect(signup.status).toBe(201);
      const { accessToken } = (await until('a session', async () => {
        const res = await fetch(`${settings.routerUrl}/login/sessions`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ username, password }),
        });
        return res.status === 201 ? ((await res.json()) as { accessToken: string }) : undefined;
      })) as { accessToken: string };

      const id = randomUUID();
      const replication = `${stack.project}_replication`;
      docker('network', 'disconnect', replication, standby);
      try {
        const posted = await fetch(`${settings.routerUrl}/messaging/rooms/quarantine/messages`, {
          method: 'POST',
          headers: { ...json, authorization: `Bearer ${accessToken}` },
          body: JSON.stringify({ id, body: 'committed on the old primary only' }),
        });
        expect(posted.status).toBe(201); // acknowledged: async, the cut-off standby never got it
        docker('kill', '--signal', 'KILL', oldPrimary);
        // The standby stays off the network until it is promoted. Reconnected earlier, it can come back
        // with its old address, and the links container's TCP retransmits then hand it the WAL it sent
        // before the kill: the message reaches the new primary, nothing forks, nothing is quarantined
        // (seen in CI: "no forked rows").
        await until(
          `messaging failed over to ${to}`,
          async () => {
            const s = await primaryOf();
            return s.primary === to && s.serving ? true : undefined;
          },
          120_000,
        );
      } finally {
        // back under its compose service name, which the other region's entrypoint resolves
        docker('network', 'connect', '--alias', `messaging-${to}-postgres`, replication, standby);
      }
      // the premise: the new primary never got the message, so the old primary's copy is a fork
      expect(
        psql(`messaging-${to}-postgres`, 'messaging', `SELECT count(*) FROM messages WHERE id = '${id}'`),
      ).toBe('0');

      const restartAt = Date.now();
      docker('start', oldPrimary);
      await until(
        'the old primary back, healthy',
        async () =>
          docker('inspect', '-f', '{{.State.Health.Status}}', oldPrimary) === 'healthy' ? true : undefined,
        240_000,
      );
      process.stdout.write(
        `compose e2e: old primary read, quarantined and rewound in ${((Date.now() - restartAt) / 1000).toFixed(1)} s\n`,
      );
      // the entrypoint logs on stderr, which `docker logs` hands back on its own stderr
      const logs = spawnSync('docker', ['logs', oldPrimary], { encoding: 'utf8', env });
      const log = `${logs.stdout}${logs.stderr}`;
      const entrypoint = log.split('\n').filter((l) => l.includes('postgres-entrypoint'));
      process.stdout.write(`compose e2e: the old primary's entrypoint said:\n  ${entrypoint.join('\n  ')}\n`);
      const line = entrypoint.find((l) => l.includes('read privately in'));
      expect(line).toMatch(/read privately in \d+ s: 1 forked row\(s\) quarantined in \S+ \(messages 1\)/);
      expect(log).toContain('rewound from');

      const rows = await backend.quarantined(started);
      expect(rows).toEqual([
        {
          service: 'messaging',
          table: 'messages',
          key: id,
          file: expect.stringMatching(/:\/var\/lib\/postgresql\/quarantine\/messaging-[\w-]+\.jsonl$/),
        },
      ]);
      const status = (await backend.faults.status()) as {
        containers: unknown[];
        quarantine: { file: string; service: string; rows: number }[];
      };
      expect(status.containers.length).toBeGreaterThanOrEqual(18);
      expect(status.quarantine).toContainEqual({ file: rows[0]!.file, service: 'messaging', rows: 1 });
      // the rewind erased it from the old primary, now a standby of the new one, which never had it
      expect(psql(`messaging-${from}-postgres`, 'postgres', 'SELECT pg_is_in_recovery()')).toBe('t');
      expect(
        psql(`messaging-${to}-postgres`, 'messaging', `SELECT count(*) FROM messages WHERE id = '${id}'`),
      ).toBe('0');
    },
    420_000,
  );
});

// The replication links run in the links container too: the lab's replication-partition drill, by
// its name, on every standby's stream (dc-a ⇄ dc-b blackholed both ways, then healed).
describe('npm run drill -- replication-partition --backend compose (the replication links)', () => {
  it('passes: no failover, payments degrades or refuses within its bound, the heal restores sync', async () => {
    const { report, code } = await drill('replication-partition');
    expect(report.load.backend).toBe('compose');
    expect(report.linkFaults?.map((f) => f.kind)).toEqual(
      expect.arrayContaining(['link_partition', 'link_heal']),
    );
    for (const [service, s] of Object.entries(report.services)) {
      expect(s.failedOver, service).toBe(false);
      expect(s.lostAckedWrites, service).toBe(0);
      expect(s.duplicateWrites, service).toBe(0);
    }
    expect(report.verdict, report.reasons.join('; ')).toBe('pass');
    expect(code).toBe(0);
  });
});
