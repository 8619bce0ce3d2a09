// The lab's data tier end to end, on one shared lab (no apps/router, so nothing else reacts to the
// faults): replication, second up, freeze/thaw, kill, hand promotion + restore (with a write that only
// the killed old primary holds, quarantined before the rewind), down.

import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CellStatus,
  type LabStatus,
  LabStatusSchema,
  problemsOf,
  REGIONS,
  type RegionName,
  SERVICES,
  type ServiceName,
} from '@failover-lab/contracts';
import Ajv2020 from 'ajv/dist/2020';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabClient } from '../src/client';
import { launchLab, stopLab } from '../src/lab';
import { LabPaths, REPO_ROOT } from '../src/paths';
import { isAlive, isRunning, processFamily, processState, sleep, waitUntil } from '../src/process';
import { loadOrCreateSecrets } from '../src/secrets';
import { makeTempStateDir } from '../src/test-data-tier';
import { processesMentioning } from './helpers';

const MESSAGES_MIGRATION = join(REPO_ROOT, 'services/messaging/src/migrations/001_messages.sql');

const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'test/contracts/lab-status.schema.json'), 'utf8'));
const validateStatus = new Ajv2020({ strict: false }).compile(schema);

let lab: LabClient;
let stateDir: string;
let appPassword: string;
let controlToken: string;

const cellOf = (status: LabStatus, service: ServiceName, region: RegionName): CellStatus =>
  status.cells.find((c) => c.service === service && c.region === region)!;

/** Every process group leader the lab runs in a region (Postgres and Redis). */
const regionLeaders = (status: LabStatus, region: RegionName) =>
  status.cells.filter((c) => c.region === region).flatMap((c) => [c.postgres.pid, c.redis.pid]) as number[];

async function withApp<T>(
  status: LabStatus,
  service: ServiceName,
  region: RegionName,
  work: (c: pg.Client) => Promise<T>,
) {
  const cell = cellOf(status, service, region);
  const [host, port] = cell.postgres.address.split(':');
  const client = new pg.Client({
    host,
    port: Number(port),
    user: 'app',
    password: appPassword,
    database: service,
  });
  await client.connect();
  try {
    // never wait on a synchronous standby the test itself may have removed
    await client.query('SET synchronous_commit = local');
    return await work(client);
  } finally {
    await client.end();
  }
}

async function expectRowToReplicate(
  status: LabStatus,
  service: ServiceName,
  from: RegionName,
  to: RegionName,
) {
  const marker = `${service}-${from}-${Date.now()}`;
  await withApp(status, service, from, async (c) => {
    await c.query('CREATE TABLE IF NOT EXISTS lab_probe (v text)');
    await c.query('INSERT INTO lab_probe VALUES ($1)', [marker]);
  });
  await withApp(status, service, to, (c) =>
    waitUntil(
      `${marker} on ${service}/${to}`,
      async () => (await c.query('SELECT 1 FROM lab_probe WHERE v = $1', [marker])).rowCount === 1,
      10_000,
    ),
  );
}

beforeAll(async () => {
  stateDir = makeTempStateDir('flab-labtest-');
  ({ client: lab } = await launchLab({ stateDir, apps: false }));
  ({ appPassword, controlToken } = loadOrCreateSecrets(new LabPaths(stateDir).secretsFile));
});

afterAll(async () => {
  if (stateDir) await stopLab(stateDir, { wipe: true });
});

describe('lab up (data tier)', () => {
  it('runs 3 primaries in dc-a and 3 streaming standbys in dc-b, Redis likewise; status matches the contract', async () => {
    const status = await lab.status();
    expect(validateStatus(status), JSON.stringify(validateStatus.errors)).toBe(true);
    expect(problemsOf(LabStatusSchema, status)).toEqual([]);
    expect(status.cells).toHaveLength(6);
    for (const service of SERVICES) {
      const a = cellOf(status, service, 'dc-a');
      const b = cellOf(status, service, 'dc-b');
      expect([a.postgres.role, b.postgres.role]).toEqual(['primary', 'standby']);
      expect(b.postgres.replication).toBe('streaming');
      expect([a.redis.role, b.redis.role]).toEqual(['master', 'replica']);
      expect(a.app.state).toBe('absent');
    }
    expect(cellOf(status, 'payments', 'dc-a').postgres.replication).toBe('dc-b:streaming/sync');
    expect(status.edge.prometheus.state).toBe('up');
    const ready = await fetch(`${lab.topo.edge.prometheusUrl}/-/ready`);
    expect(ready.status).toBe(200);
  });

  it('replicates a row written on each dc-a primary to its dc-b standby', async () => {
    const status = await lab.status();
    await Promise.all(SERVICES.map((service) => expectRowToReplicate(status, service, 'dc-a', 'dc-b')));
  });

  it('keeps secrets in a 0600 file', () => {
    expect(statSync(new LabPaths(stateDir).secretsFile).mode & 0o777).toBe(0o600);
  });

  it('a second up while running is harmless', async () => {
    const before = await lab.status();
    const again = await launchLab({ stateDir, subnet: lab.topo.subnet, apps: false });
    expect(again.started).toBe(false);
    const after = await lab.status();
    expect(after.supervisor.pid).toBe(before.supervisor.pid);
    expect(after.cells.map((c) => c.postgres.pid)).toEqual(before.cells.map((c) => c.postgres.pid));
  });

  it('rejects a bad fault request with a 400 and changes nothing', async () => {
    const res = await fetch(`${lab.controlUrl}/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${controlToken}` },
      body: JSON.stringify({ kind: 'region_kill', target: { region: 'dc-z' } }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('LAB_ERR_VALIDATION');
    const status = await lab.status();
    expect(status.cells.every((c) => c.postgres.role !== 'down')).toBe(true);
  });
});

describe('control API token', () => {
  /** what a request may change: every pid and role of the lab */
  const fingerprint = (status: LabStatus) => ({
    supervisor: status.supervisor.pid,
    cells: status.cells.map((c) => [c.postgres.pid, c.postgres.role, c.redis.pid, c.redis.role]),
    prometheus: status.edge.prometheus.pid,
  });

  async function callWith(authorization: string | undefined, method: string, path: string, body?: unknown) {
    const headers: Record<string, string> = {};
    if (authorization !== undefined) headers.authorization = authorization;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${lab.controlUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: res.status,
      wwwAuthenticate: res.headers.get('www-authenticate'),
      text: await res.text(),
    };
  }

  const guarded: [string, string, unknown?][] = [
    ['GET', '/status'],
    ['POST', '/faults', { kind: 'region_kill', target: { region: 'dc-a' } }],
    ['POST', '/faults', { kind: 'region_freeze', target: { region: 'dc-b' } }],
    ['POST', '/faults/reset', { kind: 'region_freeze', target: { region: 'dc-b' } }],
    ['POST', '/faults', { kind: 'region_restore', target: { region: 'dc-b' } }],
    ['POST', '/down', {}],
    ['GET', '/no-such-route'],
  ];

  it('GET /health answers without a token; every other route is 401 LAB_ERR_UNAUTHORIZED and nothing happens', async () => {
    const before = fingerprint(await lab.status());
    const health = await callWith(undefined, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text).state).toBe('ready');
    for (const [method, path, body] of guarded) {
      const res = await callWith(undefined, method, path, body);
      expect([method, path, res.status, res.wwwAuthenticate?.startsWith('Bearer')]).toEqual([
        method,
        path,
        401,
        true,
      ]);
      expect(JSON.parse(res.text).error.code).toBe('LAB_ERR_UNAUTHORIZED');
    }
    expect(fingerprint(await lab.status())).toEqual(before);
  });

  it('a wrong or malformed token is 401 too, never echoed, and a kill with it leaves dc-a up', async () => {
    const before = fingerprint(await lab.status());
    const lastFlipped = `${controlToken.slice(0, -1)}${controlToken.endsWith('0') ? '1' : '0'}`;
    const wrong = [
      `Bearer ${lastFlipped}`, // same length, one character off
      `Bearer ${controlToken}0`, // longer
      `Bearer ${controlToken.slice(0, 8)}`, // a prefix
      `Basic ${controlToken}`, // right secret, wrong scheme
      controlToken, // no scheme
      'Bearer ',
    ];
    for (const authorization of wrong) {
      const res = await callWith(authorization, 'POST', '/faults', {
        kind: 'region_kill',
        target: { region: 'dc-a' },
      });
      expect(res.status).toBe(401);
      expect(JSON.parse(res.text).error.code).toBe('LAB_ERR_UNAUTHORIZED');
      // (booleans, so a failure does not print the token either)
      expect(res.text.includes(controlToken.slice(0, 16))).toBe(false);
      expect(res.text.includes(lastFlipped)).toBe(false);
    }
    const after = await lab.status();
    expect(fingerprint(after)).toEqual(before);
    expect(after.cells.filter((c) => c.region === 'dc-a').every((c) => c.postgres.role === 'primary')).toBe(
      true,
    );
  });

  it('a LabClient whose state dir has no secrets gets LAB_ERR_UNAUTHORIZED, but still sees the lab live', async () => {
    const elsewhere = makeTempStateDir('flab-notoken-');
    try {
      const stranger = new LabClient(lab.topo, elsewhere);
      expect(await stranger.isReady()).toBe(true);
      await expect(stranger.kill('dc-a')).rejects.toMatchObject({
        code: 'LAB_ERR_UNAUTHORIZED',
        status: 401,
      });
      expect((await lab.status()).cells.every((c) => c.postgres.role !== 'down')).toBe(true);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('the token appears neither in status --json nor in any lab log', async () => {
    expect(JSON.stringify(await lab.status()).includes(controlToken)).toBe(false);
    const logsDir = new LabPaths(stateDir).logsDir;
    const leaking = readdirSync(logsDir).filter((f) =>
      readFileSync(join(logsDir, f), 'utf8').includes(controlToken),
    );
    expect(leaking).toEqual([]);
  });
});

describe('faults', () => {
  it('freeze stops every process of the region (state T) and thaw resumes them', async () => {
    const status = await lab.status();
    const members = regionLeaders(status, 'dc-b').flatMap(processFamily);
    expect(members.length).toBeGreaterThan(12); // each postmaster has its backends and workers
    const inRegion = (st: LabStatus, region: RegionName) => st.cells.filter((c) => c.region === region);
    try {
      await lab.freeze('dc-b');
      // (a short-lived backend of the status query above may have exited meanwhile)
      const frozenMembers = members.filter(isRunning);
      expect(frozenMembers.length).toBeGreaterThan(12);
      expect(frozenMembers.map(processState).every((s) => s === 'T')).toBe(true);
      const frozen = await lab.status();
      expect(inRegion(frozen, 'dc-b').map((c) => [c.postgres.role, c.redis.role])).toEqual([
        ['frozen', 'frozen'],
        ['frozen', 'frozen'],
        ['frozen', 'frozen'],
      ]);
      expect(inRegion(frozen, 'dc-a').every((c) => c.postgres.role === 'primary')).toBe(true);
    } finally {
      await lab.thaw('dc-b');
    }
    expect(
      members
        .filter(isRunning)
        .map(processState)
        .some((s) => s === 'T'),
    ).toBe(false);
    await waitUntil(
      'dc-b standbys streaming again',
      async () =>
        (await lab.status()).cells
          .filter((c) => c.region === 'dc-b')
          .every((c) => c.postgres.role === 'standby'),
      10_000,
    );
  });

  /** a message dc-a's messaging primary acknowledged after its standby was cut off (set below) */
  let forkedMessage: string;

  it('kill dc-a leaves no dc-a process alive within 1 s and dc-b untouched', async () => {
    const before = await lab.status();
    // The fork the restore below must not erase silently: messaging's replication link is cut, a
    // message is committed on dc-a that dc-b never gets, and then the whole region dies with it.
    await withApp(before, 'messaging', 'dc-a', (c) => c.query(readFileSync(MESSAGES_MIGRATION, 'utf8')));
    await expectRowToReplicate(before, 'messaging', 'dc-a', 'dc-b');
    await lab.apply({
      kind: 'link_partition',
      target: { from: 'dc-a', region: 'dc-b', service: 'messaging' },
      direction: 'both',
    });
    forkedMessage = await withApp(before, 'messaging', 'dc-a', async (c) => {
      const { rows } = await c.query<{ id: string }>(
        `INSERT INTO messages (id, room, author, body) VALUES (gen_random_uuid(), 'fork', 'lab-test', 'only on dc-a')
         RETURNING id::text`,
      );
      return rows[0]!.id;
    });
    await sleep(500);
    const onStandby = await withApp(before, 'messaging', 'dc-b', (c) =>
      c.query('SELECT 1 FROM messages WHERE id = $1', [forkedMessage]),
    );
    expect(onStandby.rowCount).toBe(0);
    const dcA = regionLeaders(before, 'dc-a').flatMap(processFamily);
    const dcB = regionLeaders(before, 'dc-b').flatMap(processFamily);
    expect(dcA.length).toBeGreaterThan(12);
    const t0 = Date.now();
    const result = await lab.kill('dc-a');
    expect(result.affected).toHaveLength(6);
    await sleep(Math.max(0, 1_000 - (Date.now() - t0)));
    expect(dcA.filter(isRunning)).toEqual([]);
    // dc-b's servers keep running (their WAL receivers restart on their own: the primary is gone)
    const dcBLeaders = regionLeaders(before, 'dc-b');
    expect(dcBLeaders.filter(isRunning)).toEqual(dcBLeaders);
    expect(
      dcB
        .filter(isRunning)
        .map(processState)
        .some((s) => s === 'T'),
    ).toBe(false);
    const after = await lab.status();
    for (const cell of after.cells) {
      if (cell.region === 'dc-a') expect([cell.postgres.role, cell.redis.role]).toEqual(['down', 'down']);
      else expect(cell.postgres.role).toBe('standby');
    }
  });

  it('after a hand promotion of dc-b, restore dc-a makes dc-a standbys that follow dc-b', async () => {
    const status = await lab.status();
    await Promise.all(
      SERVICES.map((service) =>
        withApp(status, service, 'dc-b', (c) => c.query('SELECT pg_promote(true, 30)')),
      ),
    );
    // healed only now: the blackholed link delivers what it held, which a standby must not replay
    await lab.healLinks();
    const t0 = Date.now();
    const result = await lab.restore('dc-a');
    // what the private reads cost, for docs/fencing.md
    console.info(
      `restore dc-a in ${Date.now() - t0} ms at load ${loadavg()[0]!.toFixed(1)}: ${JSON.stringify(result.roles)}`,
    );
    // killed old primaries: read privately first, then rewound (wal_log_hints is in their data dirs'
    // postgresql.conf), not re-cloned; only messaging's holds a row dc-b lacks
    const read = String.raw`rewound; read while stopped in \d+\.\d s`;
    expect(result.roles).toEqual({
      login: expect.stringMatching(new RegExp(`^standby of dc-b \\(${read}\\)$`)),
      payments: expect.stringMatching(new RegExp(`^standby of dc-b \\(${read}\\)$`)),
      messaging: expect.stringMatching(
        new RegExp(`^standby of dc-b \\(${read}; 1 forked row\\(s\\) quarantined in .+\\.jsonl\\)$`),
      ),
    });
    const restored = await lab.status();
    expect(validateStatus(restored)).toBe(true);
    // the message is in the quarantine file `lab status` lists, and gone from both regions
    expect(restored.quarantine).toEqual([{ file: expect.any(String), service: 'messaging', rows: 1 }]);
    const [line] = readFileSync(restored.quarantine![0]!.file, 'utf8').trim().split('\n');
    expect(JSON.parse(line!)).toMatchObject({
      service: 'messaging',
      table: 'messages',
      key: forkedMessage,
      row: { id: forkedMessage, body: 'only on dc-a' },
    });
    for (const region of REGIONS) {
      const there = await withApp(restored, 'messaging', region, (c) =>
        c.query('SELECT 1 FROM messages WHERE id = $1', [forkedMessage]),
      );
      expect(there.rowCount).toBe(0);
    }
    for (const service of SERVICES) {
      expect(cellOf(restored, service, 'dc-a').postgres.role).toBe('standby');
      expect(cellOf(restored, service, 'dc-b').postgres.role).toBe('primary');
      expect(cellOf(restored, service, 'dc-a').redis.role).toBe('replica');
      expect(cellOf(restored, service, 'dc-b').redis.role).toBe('master');
    }
    await Promise.all(SERVICES.map((service) => expectRowToReplicate(restored, service, 'dc-b', 'dc-a')));
  });

  it('restore rebuilds only the broken cells of a region and leaves the healthy ones running', async () => {
    const before = await lab.status();
    const killed = await lab.kill('dc-a', { service: 'payments', component: 'postgres' });
    expect(killed.affected).toEqual(['payments-dc-a-postgres']);
    const result = await lab.restore('dc-a');
    expect(result.roles).toEqual({
      login: 'standby of dc-b (healthy, kept)',
      payments: 'standby of dc-b (cloned)', // a standby's data dir: a base backup, not pg_rewind
      messaging: 'standby of dc-b (healthy, kept)',
    });
    const after = await lab.status();
    for (const service of ['login', 'messaging'] as const) {
      expect(cellOf(after, service, 'dc-a').postgres.pid).toBe(cellOf(before, service, 'dc-a').postgres.pid);
    }
    expect(cellOf(after, 'payments', 'dc-a').postgres.role).toBe('standby');
    await expectRowToReplicate(after, 'payments', 'dc-b', 'dc-a');
  });

  /** down, then up again on the same data dirs */
  async function warmRestart() {
    await lab.down();
    ({ client: lab } = await launchLab({ stateDir, subnet: lab.topo.subnet, apps: false }));
    return lab.status();
  }

  const expectPrimaryIn = (status: LabStatus, primary: RegionName, standby: RegionName) => {
    for (const service of SERVICES) {
      const [p, s] = [cellOf(status, service, primary), cellOf(status, service, standby)];
      expect([p.postgres.role, s.postgres.role, s.postgres.replication]).toEqual([
        'primary',
        'standby',
        'streaming',
      ]);
      expect([p.redis.role, s.redis.role]).toEqual(['master', 'replica']);
    }
  };

  it('a warm up after down keeps the roles the data dirs had (the lab stays failed over)', async () => {
    const status = await warmRestart();
    expectPrimaryIn(status, 'dc-b', 'dc-a');
    await expectRowToReplicate(status, 'payments', 'dc-b', 'dc-a');
  });

  it('a warm up after a failover that was never restored keeps the newer primary, reads the old one privately, quarantines its forked row and rewinds it', async () => {
    const before = await lab.status();
    expectPrimaryIn(before, 'dc-b', 'dc-a');
    // The fork the warm up below must not erase silently: messaging's replication link is cut, a
    // message is committed on dc-b that dc-a never gets, then dc-b dies and dc-a is promoted.
    await lab.apply({
      kind: 'link_partition',
      target: { from: 'dc-a', region: 'dc-b', service: 'messaging' },
      direction: 'both',
    });
    const id = await withApp(before, 'messaging', 'dc-b', async (c) => {
      const { rows } = await c.query<{ id: string }>(
        `INSERT INTO messages (id, room, author, body) VALUES (gen_random_uuid(), 'fork', 'lab-test', 'on dc-b, never restored')
         RETURNING id::text`,
      );
      return rows[0]!.id;
    });
    await sleep(500);
    const onStandby = await withApp(before, 'messaging', 'dc-a', (c) =>
      c.query('SELECT 1 FROM messages WHERE id = $1', [id]),
    );
    expect(onStandby.rowCount).toBe(0);
    await lab.kill('dc-b');
    await Promise.all(
      SERVICES.map((service) =>
        withApp(before, service, 'dc-a', (c) => c.query('SELECT pg_promote(true, 30)')),
      ),
    );
    await lab.healLinks();
    // down and up again without a restore: both data dirs of every cell are primaries now
    await lab.down();
    const said: string[] = [];
    const t0 = Date.now();
    ({ client: lab } = await launchLab({
      stateDir,
      subnet: lab.topo.subnet,
      apps: false,
      onProgress: (line) => said.push(line),
    }));
    const line = (service: ServiceName, region: RegionName) =>
      said.find((l) => l.includes(` ${service}-${region}-postgres `)) ?? `(no line for ${service}/${region})`;
    // what the private reads cost a warm up, for docs/fencing.md
    console.info(
      `warm up with three forked cells in ${Date.now() - t0} ms at load ${loadavg()[0]!.toFixed(1)}:\n${SERVICES.map((s) => line(s, 'dc-b')).join('\n')}`,
    );
    // no router in this lab: the newer timeline (dc-a's promotion) decides, as for restore
    for (const service of SERVICES)
      expect(line(service, 'dc-a')).toMatch(/ primary \(warm; newer timeline \d+\) /);
    const read = String.raw`rewound; read while stopped in \d+\.\d s`;
    expect(line('login', 'dc-b')).toMatch(new RegExp(` standby of dc-a \\(${read}\\) `));
    expect(line('payments', 'dc-b')).toMatch(new RegExp(` standby of dc-a \\(${read}\\) `));
    const quarantined = new RegExp(
      ` standby of dc-a \\(${read}; 1 forked row\\(s\\) quarantined in (.+\\.jsonl)\\) `,
    );
    expect(line('messaging', 'dc-b')).toMatch(quarantined);
    const file = quarantined.exec(line('messaging', 'dc-b'))![1]!;

    const status = await lab.status();
    expectPrimaryIn(status, 'dc-a', 'dc-b');
    expect(status.quarantine).toContainEqual({ file, service: 'messaging', rows: 1 });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      service: 'messaging',
      table: 'messages',
      key: id,
      row: { id, body: 'on dc-b, never restored' },
    });
    for (const region of REGIONS) {
      const there = await withApp(status, 'messaging', region, (c) =>
        c.query('SELECT 1 FROM messages WHERE id = $1', [id]),
      );
      expect(there.rowCount).toBe(0);
    }
    const log = readFileSync(new LabPaths(stateDir).log('supervisor'), 'utf8');
    expect(log).toContain(`messaging/dc-b: 1 forked row(s) quarantined in ${file}`);
    await expectRowToReplicate(status, 'messaging', 'dc-a', 'dc-b');
  });

  it('restore of a frozen old primary kills it, reads it privately, quarantines its forked row and rewinds it; one that cannot be read is said, kept aside and rebuilt', async () => {
    const before = await lab.status();
    expectPrimaryIn(before, 'dc-a', 'dc-b');
    await lab.apply({
      kind: 'link_partition',
      target: { from: 'dc-a', region: 'dc-b', service: 'messaging' },
      direction: 'both',
    });
    const id = await withApp(before, 'messaging', 'dc-a', async (c) => {
      const { rows } = await c.query<{ id: string }>(
        `INSERT INTO messages (id, room, author, body) VALUES (gen_random_uuid(), 'fork', 'lab-test', 'frozen on dc-a')
         RETURNING id::text`,
      );
      return rows[0]!.id;
    });
    await lab.freeze('dc-a');
    // login's old primary cannot be read: a line its server refuses at any start (an operator's slip)
    const paths = new LabPaths(stateDir);
    const loginData = paths.cell('login', 'dc-a', lab.topo.ports.postgres).pgData;
    appendFileSync(join(loginData, 'postgresql.auto.conf'), 'this line is not a setting\n');
    await Promise.all(
      SERVICES.map((service) =>
        withApp(before, service, 'dc-b', (c) => c.query('SELECT pg_promote(true, 30)')),
      ),
    );
    await lab.healLinks();
    const result = await lab.restore('dc-a');
    // restore goes on: the answer and the log say why the rows were not read and where the data dir is
    const unread =
      /^standby of dc-b \(cloned; its forked rows could NOT be read: its private start failed: FATAL: configuration file "[^"]*postgresql\.auto\.conf" contains errors; its data dir is kept in (.+\.pgdata)\)$/;
    expect(result.roles?.login).toMatch(unread);
    const keptDir = unread.exec(result.roles!.login!)![1]!;
    expect(readFileSync(join(keptDir, 'postgresql.auto.conf'), 'utf8')).toContain(
      'this line is not a setting',
    );
    const log = readFileSync(paths.log('supervisor'), 'utf8');
    expect(log).toMatch(
      /login\/dc-a: the stopped old primary could NOT be read \(its private start failed: FATAL: configuration file .+ contains errors\); its data dir is kept in .+\.pgdata/,
    );
    expect(result.roles?.messaging).toMatch(
      /^standby of dc-b \(rewound; read while stopped in \d+\.\d s; 1 forked row\(s\) quarantined in .+\.jsonl\)$/,
    );
    expect(result.roles?.payments).toMatch(/^standby of dc-b \(rewound; read while stopped in \d+\.\d s\)$/);
    const after = await lab.status();
    expectPrimaryIn(after, 'dc-b', 'dc-a');
    // nothing of the failed start is left: the only server on login's data dir is its new standby
    expect(processesMentioning(loginData)).toEqual([cellOf(after, 'login', 'dc-a').postgres.pid]);
    await expectRowToReplicate(after, 'login', 'dc-b', 'dc-a');
    // (the warm up's file, messaging-dc-b-…, sorts after dc-a's)
    const newest = after.quarantine!.filter((q) => q.file.includes('/messaging-dc-a-')).at(-1)!;
    expect(newest).toMatchObject({ service: 'messaging', rows: 1 });
    expect(JSON.parse(readFileSync(newest.file, 'utf8'))).toMatchObject({
      key: id,
      row: { body: 'frozen on dc-a' },
    });
  });

  it('down leaves nothing running', async () => {
    const status = await lab.status();
    const leaders = status.cells.flatMap((c) => [c.postgres.pid, c.redis.pid]) as number[];
    leaders.push(status.edge.prometheus.pid!);
    const everything = leaders.flatMap(processFamily);
    await lab.down();
    expect(everything.filter(isRunning)).toEqual([]);
    expect(existsSync(join(tmpdir(), 'flab-subnet-leases', String(lab.topo.subnet)))).toBe(false);
    expect(isAlive(status.supervisor.pid)).toBe(false);
    const runDir = new LabPaths(stateDir).runDir;
    expect(readdirSync(runDir).filter((f) => f.endsWith('.pid') && f !== 'supervisor.pid')).toEqual([]);
    expect(existsSync(stateDir)).toBe(true);
    await stopLab(stateDir, { wipe: true });
    expect(existsSync(stateDir)).toBe(false);
  });
});
