import { describe, expect, it } from 'vitest';
import { ComposeBackend, type Exec, type ExecOptions } from '../src/backends/compose';

// Made-up secrets: the point is to see they never reach an argv.
const SECRETS = {
  adminToken: 'tok-drill-unit-0123456789abcdef',
  appPassword: 'pw-drill-unit-fedcba9876543210',
};

function recordingExec(answers: Record<string, string | Error>) {
  const calls: string[] = [];
  const argvs: string[][] = [];
  const options: (ExecOptions | undefined)[] = [];
  const exec: Exec = async (file, args, opts) => {
    const command = [file, ...args].join(' ');
    calls.push(command);
    argvs.push([file, ...args]);
    options.push(opts);
    const key = Object.keys(answers).find((prefix) => command.startsWith(prefix));
    const answer = key ? answers[key]! : '';
    if (answer instanceof Error) throw answer;
    return { stdout: answer };
  };
  return { calls, argvs, options, exec };
}

describe('ComposeBackend', () => {
  it('region kill: SIGKILL every running container of the region, selected by label', async () => {
    const { calls, exec } = recordingExec({ 'docker ps': 'a1\nb2\nc3\n' });
    await new ComposeBackend(SECRETS, exec).faults.apply({ kind: 'region_kill', target: { region: 'dc-a' } });
    expect(calls).toEqual([
      'docker ps --all --quiet --filter label=failover-lab.region=dc-a --filter status=running',
      'docker kill --signal KILL a1 b2 c3',
    ]);
  });

  it('db kill: only the payments Postgres container of the region', async () => {
    const { calls, exec } = recordingExec({ 'docker ps': 'pg1\n' });
    await new ComposeBackend(SECRETS, exec).faults.apply({
      kind: 'component_kill',
      target: { region: 'dc-a', service: 'payments', component: 'postgres' },
    });
    expect(calls).toEqual([
      'docker ps --all --quiet --filter label=failover-lab.region=dc-a --filter label=failover-lab.service=payments --filter label=failover-lab.component=postgres --filter status=running',
      'docker kill --signal KILL pg1',
    ]);
  });

  it('freeze pauses running containers, its reset unpauses the paused ones, restore starts the exited ones', async () => {
    const { calls, exec } = recordingExec({ 'docker ps': 'x1 x2' });
    const { faults } = new ComposeBackend(SECRETS, exec);
    await faults.apply({ kind: 'region_freeze', target: { region: 'dc-a' } });
    await faults.reset({ kind: 'region_freeze', target: { region: 'dc-a' } });
    await faults.apply({ kind: 'region_restore', target: { region: 'dc-a' } });
    expect(calls).toEqual([
      'docker ps --all --quiet --filter label=failover-lab.region=dc-a --filter status=running',
      'docker pause x1 x2',
      'docker ps --all --quiet --filter label=failover-lab.region=dc-a --filter status=paused',
      'docker unpause x1 x2',
      'docker ps --all --quiet --filter label=failover-lab.region=dc-a --filter status=exited',
      'docker start x1 x2',
    ]);
  });

  it('app crash: one service app only', async () => {
    const { calls, exec } = recordingExec({ 'docker ps': 'app9' });
    await new ComposeBackend(SECRETS, exec).faults.apply({
      kind: 'component_kill',
      target: { region: 'dc-a', service: 'messaging', component: 'app' },
    });
    expect(calls[0]).toContain(
      '--filter label=failover-lab.service=messaging --filter label=failover-lab.component=app',
    );
    expect(calls[1]).toBe('docker kill --signal KILL app9');
  });

  it('refuses to act when no container matches (a typo must not look like a successful fault)', async () => {
    const { calls, exec } = recordingExec({ 'docker ps': '\n' });
    await expect(
      new ComposeBackend(SECRETS, exec).faults.apply({ kind: 'region_kill', target: { region: 'dc-b' } }),
    ).rejects.toThrow(/no container matches dc-b/);
    expect(calls).toHaveLength(1);
  });

  it('status lists labelled containers as JSON lines', async () => {
    const { exec } = recordingExec({
      'docker ps --all --filter': '{"ID":"a1","State":"running"}\n{"ID":"b2","State":"paused"}\n',
    });
    expect(await new ComposeBackend(SECRETS, exec).faults.status()).toEqual([
      { ID: 'a1', State: 'running' },
      { ID: 'b2', State: 'paused' },
    ]);
  });
});

describe('ComposeBackend: cells through docker exec (docker-compose.yml publishes none)', () => {
  const APP_PS =
    'docker ps --all --quiet --filter label=failover-lab.region=dc-b --filter label=failover-lab.service=payments --filter label=failover-lab.component=app --filter status=running';

  it('admin GET: node fetches the app on the container loopback, the token named in -e only', async () => {
    const { calls, argvs, options, exec } = recordingExec({
      'docker ps': 'app7\n',
      'docker exec': '{"status":200,"body":"{\\"role\\":\\"primary\\",\\"epoch\\":3}"}',
    });
    const answer = await new ComposeBackend(SECRETS, exec).cells.cellHttp('payments', 'dc-b', {
      method: 'GET',
      path: '/admin/state',
    });
    expect(answer).toEqual({ status: 200, body: { role: 'primary', epoch: 3 } });
    expect(calls[0]).toBe(APP_PS);
    expect(argvs[1]!.slice(0, 7)).toEqual(['docker', 'exec', '-e', 'ADMIN_TOKEN', 'app7', 'node', '-e']);
    expect(argvs[1]!.slice(8)).toEqual(['--', 'GET', '/admin/state']);
    expect(argvs[1]![7]).toContain("fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + path");
    expect(options[1]?.env).toEqual({ ADMIN_TOKEN: SECRETS.adminToken });
    expectNoSecretIn(argvs);
  });

  it('admin POST: the JSON body is the last argv entry', async () => {
    const { argvs, exec } = recordingExec({
      'docker ps': 'app7',
      'docker exec': '{"status":200,"body":"{\\"seeded\\":1}"}',
    });
    const body = { accounts: [{ id: 'a0', owner: 'u0', balance: 10_000 }] };
    const answer = await new ComposeBackend(SECRETS, exec).cells.cellHttp('payments', 'dc-b', {
      method: 'POST',
      path: '/admin/seed/accounts',
      body,
    });
    expect(answer.status).toBe(200);
    expect(argvs[1]!.slice(-4)).toEqual(['--', 'POST', '/admin/seed/accounts', JSON.stringify(body)]);
    expectNoSecretIn(argvs);
  });

  it('a killed or paused cell (no running container, or exec refused) is a cell that did not answer', async () => {
    const none = recordingExec({ 'docker ps': '' });
    const down = await new ComposeBackend(SECRETS, none.exec).cells.cellHttp('payments', 'dc-b', {
      method: 'GET',
      path: '/admin/state',
    });
    expect(down.status).toBe(0);
    expect(down.error).toMatch(/no container matches dc-b\/payments\/app/);
    expect(none.calls).toEqual([APP_PS]);

    const refused = recordingExec({
      'docker ps': 'app7',
      'docker exec': new Error('docker exec … failed: container app7 is paused'),
    });
    const paused = await new ComposeBackend(SECRETS, refused.exec).cells.cellHttp('payments', 'dc-b', {
      method: 'GET',
      path: '/admin/state',
    });
    expect(paused).toMatchObject({ status: 0, body: null });
    expect(paused.error).toMatch(/paused/);
  });

  it("the cell's own errors come back as they are; unreadable output is no answer", async () => {
    const notFound = recordingExec({
      'docker ps': 'app7',
      'docker exec': '{"status":404,"body":"{\\"error\\":{\\"code\\":\\"PAY_ERR_NOT_FOUND\\"}}"}',
    });
    expect(
      await new ComposeBackend(SECRETS, notFound.exec).cells.cellHttp('payments', 'dc-b', {
        method: 'GET',
        path: '/payments/transfers/k1',
      }),
    ).toEqual({ status: 404, body: { error: { code: 'PAY_ERR_NOT_FOUND' } } });
    const garbage = recordingExec({ 'docker ps': 'app7', 'docker exec': 'OCI runtime exec failed' });
    const answer = await new ComposeBackend(SECRETS, garbage.exec).cells.cellHttp('payments', 'dc-b', {
      method: 'GET',
      path: '/admin/state',
    });
    expect(answer.status).toBe(0);
  });

  it('refuses a path the script would not put after the port', async () => {
    const { calls, exec } = recordingExec({ 'docker ps': 'app7' });
    const answer = await new ComposeBackend(SECRETS, exec).cells.cellHttp('payments', 'dc-b', {
      method: 'GET',
      path: '@192.0.2.1/x',
    });
    expect(answer.status).toBe(0);
    expect(calls.some((c) => c.startsWith('docker exec'))).toBe(false);
  });

  it('split-brain count: psql as app inside the Postgres container, PGPASSWORD named in -e only', async () => {
    const { calls, argvs, options, exec } = recordingExec({ 'docker ps': 'pg3\n', 'docker exec': '2\n' });
    const since = new Date('2026-11-22T01:02:03.456Z');
    expect(await new ComposeBackend(SECRETS, exec).cells.countCellWrites('payments', 'dc-a', since)).toBe(2);
    expect(calls[0]).toBe(
      'docker ps --all --quiet --filter label=failover-lab.region=dc-a --filter label=failover-lab.service=payments --filter label=failover-lab.component=postgres --filter status=running',
    );
    expect(argvs[1]).toEqual([
      'docker',
      'exec',
      '-e',
      'PGPASSWORD',
      'pg3',
      'psql',
      '-U',
      'app',
      '-d',
      'payments',
      '-At',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      "SELECT count(*) AS n FROM transfers WHERE created_at >= '2026-11-22T01:02:03.456Z'::timestamptz",
    ]);
    expect(options[1]?.env).toEqual({ PGPASSWORD: SECRETS.appPassword });
    expectNoSecretIn(argvs);
  });

  it('login counts users and refresh tokens; a non-count answer or no container is an error', async () => {
    const { argvs, exec } = recordingExec({ 'docker ps': 'pg1', 'docker exec': '0' });
    await new ComposeBackend(SECRETS, exec).cells.countCellWrites('login', 'dc-a', new Date(0));
    expect(argvs[1]!.at(-1)).toBe(
      "SELECT (SELECT count(*) FROM users WHERE created_at >= '1970-01-01T00:00:00.000Z'::timestamptz) + (SELECT count(*) FROM refresh_tokens WHERE created_at >= '1970-01-01T00:00:00.000Z'::timestamptz) AS n",
    );
    const odd = recordingExec({ 'docker ps': 'pg1', 'docker exec': 'psql: error: connection refused' });
    await expect(
      new ComposeBackend(SECRETS, odd.exec).cells.countCellWrites('login', 'dc-a', new Date()),
    ).rejects.toThrow(/not a count/);
    const gone = recordingExec({ 'docker ps': '' });
    await expect(
      new ComposeBackend(SECRETS, gone.exec).cells.countCellWrites('login', 'dc-a', new Date()),
    ).rejects.toThrow(/no container matches dc-a\/login\/postgres/);
  });

  it('has no cell URL to offer (nothing of a cell is published)', () => {
    expect(new ComposeBackend(SECRETS, recordingExec({}).exec).cells.cellUrl('payments', 'dc-a')).toBeNull();
  });
});

function expectNoSecretIn(argvs: string[][]): void {
  for (const argv of argvs) {
    for (const arg of argv) {
      expect(arg).not.toContain(SECRETS.adminToken);
      expect(arg).not.toContain(SECRETS.appPassword);
    }
  }
}
