import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import {
  CellReadinessSchema,
  ControllerEventSchema,
  describeFault,
  directionOf,
  FAULT_KINDS,
  FAULTS,
  faultProblems,
  ProbeConfigSchema,
  problemsOf,
  REGIONS,
  RouterConfigFileSchema,
  resetOf,
  subscriptionStatement,
} from '../src/index';

const readiness = {
  status: 'ready',
  service: 'payments',
  region: 'dc-a',
  role: 'primary',
  epoch: 2,
  fenced: false,
  inRecovery: false,
  walLsn: '0/3000060',
  replicationLagBytes: null,
  standbys: [{ name: 'dc-b', state: 'streaming', syncState: 'sync', lagBytes: 0 }],
  synchronousStandbyNames: '"dc-b"',
  checks: { postgres: { ok: true, ms: 1 }, redis: { ok: false, ms: 1000, error: 'timeout' } },
};

describe('readiness', () => {
  it('accepts what a cell answers and refuses a body without the fields the router decides on', () => {
    expect(Value.Check(CellReadinessSchema, readiness)).toBe(true);
    const { role: _role, ...noRole } = readiness;
    expect(problemsOf(CellReadinessSchema, noRole)).toEqual(['role is required']);
    expect(problemsOf(CellReadinessSchema, { ...readiness, role: 'leader' })).toEqual([
      'role must be one of primary, standby, fenced, got "leader"',
    ]);
    expect(problemsOf(CellReadinessSchema, { ...readiness, walLsn: 7 })).toEqual([
      'walLsn must be a non-empty string or null, got 7',
    ]);
  });
});

describe('problemsOf', () => {
  it('says every problem once, by its dotted name, with the bounds of a number', () => {
    expect(problemsOf(ProbeConfigSchema, { ...Value.Create(ProbeConfigSchema), fall: 0, tick: 1 })).toEqual([
      'tick: unknown setting (known: intervalMs, timeoutMs, fall, hardFall, rise, leaseFall, silenceMs, confirmSilenceMs, confirmFall, burstIntervalMs, startupGraceMs, postgresPort)',
      'fall must be an integer 1-100, got 0',
    ]);
  });

  it('names unknown keys with the noun the schema gives them, and never echoes free text', () => {
    const problems = problemsOf(RouterConfigFileSchema, {
      listen: { host: '127.0.0.1', port: 1 },
      stateFile: '',
      adminToken: 7,
      services: { payments: { mode: 'sync', cells: { 'dc-a': 'x', 'dc-b': 'y', 'dc-c': 'z' } }, chat: {} },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'services.chat: unknown service (known: login, payments, messaging)',
        'services.payments.cells.dc-c: unknown region (known: dc-a, dc-b)',
        'stateFile must be a file path',
        'adminToken must be a non-empty string, got 7',
      ]),
    );
  });
});

describe('events', () => {
  it('an event names its service, region and epoch', () => {
    const event = {
      at: '2026-11-26T05:00:00.000Z',
      type: 'promoted',
      service: 'payments',
      region: 'dc-b',
      epoch: 3,
    };
    expect(Value.Check(ControllerEventSchema, event)).toBe(true);
    expect(Value.Check(ControllerEventSchema, { ...event, type: 'exploded' })).toBe(false);
  });
});

describe('fault registry', () => {
  it('names every fault in snake_case and knows how each is undone', () => {
    for (const kind of FAULT_KINDS) {
      expect(kind).toMatch(/^[a-z]+(_[a-z]+)+$/);
      expect(FAULTS[kind].summary.length).toBeGreaterThan(20);
    }
    expect(resetOf('region_kill')).toBe('region_restore');
    expect(resetOf('component_kill')).toBe('region_restore');
    expect(resetOf('region_freeze')).toBe('region_thaw');
    expect(resetOf('region_thaw')).toBeNull();
  });

  it.each([
    [{ kind: 'region_kill', target: { region: 'dc-a' } }, []],
    [{ kind: 'component_kill', target: { region: 'dc-b', service: 'payments', component: 'postgres' } }, []],
    [{ kind: 'component_kill', target: { region: 'dc-b', component: 'app' } }, []],
    [
      { kind: 'component_kill', target: { region: 'dc-b' } },
      ['component_kill needs a service or a component (a whole region is region_kill)'],
    ],
    [
      { kind: 'region_freeze', target: { region: 'dc-a', service: 'login' } },
      ['region_freeze reaches whole regions only (no service or component)'],
    ],
    [
      { kind: 'region_melt', target: { region: 'dc-a' } },
      [expect.stringMatching(/^kind must be one of region_kill/)],
    ],
    [
      { kind: 'region_kill', target: { region: 'dc-z' } },
      ['target.region must be one of dc-a, dc-b, got "dc-z"'],
    ],
    [
      { kind: 'region_kill', target: { region: 'dc-a' }, attributes: { latency: 300 } },
      [expect.stringMatching(/^attributes.latency: unknown setting/)],
    ],
  ])('%j → %j', (fault, problems) => {
    expect(faultProblems(fault)).toEqual(problems);
  });

  it.each([
    [{ kind: 'link_latency', target: { from: 'edge', region: 'dc-a' }, attributes: { latency_ms: 300 } }, []],
    [
      {
        kind: 'link_latency',
        target: { from: 'dc-b', region: REGIONS[0], service: 'payments' },
        direction: 'both',
        attributes: { latency_ms: 300, jitter_ms: 20 },
      },
      [],
    ],
    [{ kind: 'link_partition', target: { from: 'dc-a', region: 'dc-b' }, direction: 'from' }, []],
    [{ kind: 'link_heal', target: { from: 'edge', region: 'dc-b' } }, []],
    [
      { kind: 'link_partition', target: { region: 'dc-b' } },
      ["link_partition needs from (edge, dc-a or dc-b): the link's other end"],
    ],
    [
      { kind: 'link_partition', target: { from: 'dc-b', region: 'dc-b' } },
      ['link_partition: a link joins two different ends'],
    ],
    [{ kind: 'link_latency', target: { from: 'edge', region: 'dc-a' } }, ['link_latency needs latency_ms']],
    [
      {
        kind: 'link_loss',
        target: { from: 'edge', region: 'dc-a' },
        attributes: { loss_pct: 5, latency_ms: 1 },
      },
      ['link_loss takes no latency_ms'],
    ],
    [
      { kind: 'link_loss', target: { from: 'edge', region: 'dc-a' }, attributes: { loss_pct: 150 } },
      ['loss_pct is at most 100'],
    ],
    [
      { kind: 'region_freeze', target: { region: 'dc-a' }, direction: 'both' },
      ['region_freeze is not a link fault (no direction)'],
    ],
    [
      { kind: 'region_kill', target: { region: 'dc-a', from: 'edge' } },
      ['region_kill is not a link fault (no from)'],
    ],
  ])('link fault %j → %j', (fault, problems) => {
    expect(faultProblems(fault)).toEqual(problems);
  });

  it('says which way a link fault acts and how it is undone', () => {
    expect(directionOf({ kind: 'link_latency', target: { from: 'edge', region: 'dc-a' } })).toBe('to');
    expect(directionOf({ kind: 'link_partition', target: { from: 'edge', region: 'dc-a' } })).toBe('both');
    expect(resetOf('link_partition')).toBe('link_heal');
    expect(resetOf('link_latency')).toBe('link_heal');
    expect(
      describeFault({
        kind: 'link_latency',
        target: { from: 'edge', region: 'dc-a', service: 'payments' },
        attributes: { latency_ms: 300 },
      }),
    ).toBe('link_latency edge→dc-a/payments direction=to latency_ms=300');
  });
});

describe('subscriptionStatement (the lab and the compose entrypoint run exactly this)', () => {
  it("subscribes a region to the other region's publication through a passfile, no password in it", () => {
    expect(
      subscriptionStatement('dc-b', {
        host: 'messaging-dc-a-postgres',
        port: 5432,
        passfile: '/var/lib/postgresql/.pgpass',
      }),
    ).toBe(
      "CREATE SUBSCRIPTION from_dc_a CONNECTION 'host=messaging-dc-a-postgres port=5432 dbname=messaging " +
        "user=replicator passfile=/var/lib/postgresql/.pgpass application_name=from_dc_a connect_timeout=2' " +
        'PUBLICATION messages_dc_a',
    );
  });

  it('refuses a host or passfile that could break out of the conninfo or the statement', () => {
    for (const bad of ["x' password='p", 'a b', 'h;DROP'])
      expect(() => subscriptionStatement('dc-a', { host: bad, port: 5432, passfile: '/p' })).toThrow(/plain/);
    expect(() => subscriptionStatement('dc-a', { host: 'h', port: 5432, passfile: "/p'" })).toThrow(/plain/);
  });
});
