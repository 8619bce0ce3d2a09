// The router's configuration file (ROUTER_CONFIG, docs/contracts.md "Router"): the lab writes it,
// infra/compose/router.json is one, the router reads it. Every optional setting has its default
// here, next to its bounds and what it means.
import { type Static, Type } from 'typebox';
import { ReplicationModeSchema, ServiceTopologySchema } from './vocabulary';

const ms = (min: number, max: number, fallback: number, description: string) =>
  Type.Integer({ minimum: min, maximum: max, default: fallback, description });
const count = (min: number, max: number, fallback: number, description: string) =>
  Type.Integer({ minimum: min, maximum: max, default: fallback, description });
const ANY = Number.MAX_SAFE_INTEGER;

export const ProbeConfigSchema = Type.Object(
  {
    intervalMs: ms(10, 60_000, 200, 'time between active probes of one cell'),
    timeoutMs: ms(10, 60_000, 500, 'a probe not answered within this counts as failed'),
    fall: count(1, 100, 3, 'consecutive failed probes before a cell is confirmed down'),
    hardFall: count(
      1,
      100,
      1,
      'failed probes in a row that confirm a cell down when each carries hard evidence: the app failed and ' +
        "the cell's Postgres refused the connection (nothing listens; a slow or frozen process cannot do " +
        'that). A latency spike or a silent cell still needs `fall` failures; set to `fall` to give hard ' +
        'evidence no weight',
    ),
    rise: count(1, 100, 2, 'consecutive good probes before a suspected or down cell counts as up again'),
    leaseFall: count(
      1,
      100,
      3,
      'failed probes in a row after which probes stop granting the lease (capped at `fall`; the default, 3, is ' +
        "`fall`'s: grants until the cell is confirmed down). With 2 and fall 3 the probe that would confirm a " +
        'cell down grants none, so a failover from a frozen primary waits the lease after the probe before it ' +
        '(~0.5 s sooner), but a busy primary that lets two probes time out is granted nothing until one ' +
        'answers, and under a flood of requests (a just-promoted primary) it then fences itself ' +
        '(docs/fencing.md, "The lease")',
    ),
    silenceMs: ms(
      0,
      60_000,
      0,
      'passive suspicion for the lease: a cell that has answered nothing (no probe, no proxied request) for ' +
        'this long while a probe or request to it has been outstanding as long is granted no lease until it ' +
        'answers again, so a failover from a frozen primary waits the lease after ~freeze + this, not after ' +
        'its confirmation. Must stay above the longest silence of a healthy cell (a latency spike on the ' +
        'link, a starved machine) by enough that the grants it stops do not outlast the lease. 0: off (grants ' +
        'stop only by `leaseFall`; docs/fencing.md, "The lease")',
    ),
    confirmSilenceMs: ms(
      0,
      60_000,
      0,
      'passive confirmation: a cell that has failed `confirmFall` probes in a row and answered nothing at all ' +
        '(no probe, no proxied request) for this long while one waited as long is confirmed down without ' +
        'waiting for `fall` failures: a frozen cell is confirmed ~one probe timeout sooner. Must stay safely ' +
        'above the longest silence of a healthy cell (an edge-link outage: the flapping drill holds it down ' +
        '700 ms; a latency spike: 300 ms). 0: off (docs/fencing.md, "The lease")',
    ),
    confirmFall: count(
      1,
      100,
      2,
      'failed probes in a row that, with `confirmSilenceMs` of silence, confirm a cell down (capped at `fall`)',
    ),
    burstIntervalMs: ms(5, 60_000, 50, 'interval of the re-probe burst a passive signal triggers'),
    startupGraceMs: ms(
      0,
      600_000,
      3_000,
      'no automatic failover this long after the router starts: a router restarting on a starved machine ' +
        'must not mistake its own slow first probes for a dead primary',
    ),
    postgresPort: count(1, 65_535, 5432, "where each cell's Postgres listens on the cell's own address"),
  },
  { additionalProperties: false },
);
export type ProbeConfig = Static<typeof ProbeConfigSchema>;

export const ProxyConfigSchema = Type.Object(
  {
    requestTimeoutMs: ms(
      10,
      600_000,
      5_000,
      "time to wait for an upstream's response headers; also the budget stamped on each attempt as " +
        'x-request-deadline, and so the longest a failover away from a frozen primary waits for the writes ' +
        'it holds to expire (with leases on, the lease bounds that wait sooner). Keep it ≤ holdMs.',
    ),
    bodyTimeoutMs: ms(
      0,
      3_600_000,
      30_000,
      'idle time allowed between body chunks of a normal (non-SSE) response',
    ),
    connectTimeoutMs: ms(10, 60_000, 1_000, 'time allowed to open a connection to a cell'),
    holdMs: ms(
      0,
      120_000,
      5_000,
      'how long a request may wait for a primary during a failover (held, or to be resent when its route is safe to repeat)',
    ),
    maxHeldRequests: count(
      1,
      1_000_000,
      2_000,
      'requests the router holds at once while waiting for a primary (all services); past it 503 ROUTER_ERR_HOLD_FULL',
    ),
    maxHeldBytes: count(
      1,
      4 * 1024 * 1024 * 1024,
      64 * 1024 * 1024,
      'request-body bytes held at once while waiting for a primary; past it 503 ROUTER_ERR_HOLD_FULL',
    ),
    maxBodyBytes: count(1, 64 * 1024 * 1024, 1_048_576, 'largest request body the router accepts'),
    connectionsPerCell: count(1, 4096, 64, 'connections per cell in the keep-alive pool'),
    streamConnectionsPerCell: count(
      1,
      65_536,
      1_024,
      'connections per cell for event streams, a pool of their own: open streams never starve requests',
    ),
  },
  { additionalProperties: false },
);
export type ProxyConfig = Static<typeof ProxyConfigSchema>;

export const PolicyConfigSchema = Type.Object(
  {
    maxFailoverLagBytes: count(
      0,
      ANY,
      16 * 1024 * 1024,
      "async services: refuse automatic failover when the standby's last known lag exceeds this",
    ),
    syncRestoreMaxLagBytes: count(
      0,
      ANY,
      1024 * 1024,
      'sync services: put the standby back into synchronous_standby_names only once it lags less than this',
    ),
    syncStallMs: ms(
      0,
      ANY,
      2_000,
      'sync services: a commit waiting this long for the synchronous standby (its WAL receiver gone or cut off while its app answers) degrades the service to async, or refuses writes in strict mode',
    ),
    syncRestoreMaxReplyAgeMs: ms(
      0,
      ANY,
      15_000,
      "sync services: put the standby back into synchronous_standby_names only once it has replied within this (a stalled receiver's walsender row can still read 'streaming')",
    ),
    strictSync: Type.Boolean({
      default: false,
      description:
        'sync services: refuse writes (ROUTER_ERR_SYNC_STANDBY_LOST) instead of degrading to async',
    }),
    adminTimeoutMs: ms(0, ANY, 15_000, 'bound on one admin call (promote waits for pg_promote)'),
    switchoverCatchUpMs: ms(
      0,
      ANY,
      10_000,
      "planned switchover: how long to wait for the standby to replay up to the primary's WAL position",
    ),
    appRestartGraceMs: ms(
      0,
      ANY,
      15_000,
      'a primary whose app is gone but whose Postgres still answers is given this long to be restarted in ' +
        'place before it is failed over (a crashed app is not a lost region)',
    ),
    leaseMs: ms(
      0,
      600_000,
      3_000,
      'the lease each health probe and each proxied request grants the primary at the current epoch: a primary ' +
        'holds it until the deadline of the latest grant it read (`leaseGrantMs` after it was sent) + this, and ' +
        'fences itself once that has passed; a failover from a primary the router cannot reach (not proved ' +
        'gone) waits until every lease it may have granted has run out (the last grant sent + `leaseGrantMs` + ' +
        'this). A leased primary also refuses every COMMIT past its lease, so that wait bounds the wait for its ' +
        'writes in flight too. Shorter is a faster failover from a frozen primary; longer leaves a primary that ' +
        'reads no grant for a while (a starved machine, a link outage) more room before it fences itself; 0 ' +
        'turns leases off (docs/fencing.md, "The lease")',
    ),
    leaseGrantMs: ms(
      1,
      60_000,
      500,
      'the deadline of each lease grant, after it is sent: a primary holds its lease until the deadline of ' +
        'the latest grant it read + `leaseMs`, and the router counts the same for every grant it sent, so ' +
        'only the sum of the two matters, to the wait (a failover waits up to the last grant + both) and ' +
        'to a primary reading its grants late (it keeps its lease as long as it reads one within both of its ' +
        'sending). Grants go on every probe and, with leases on, on every request proxied to a cell the ' +
        'router does not suspect (docs/fencing.md, "The lease")',
    ),
    settleLeaseMs: ms(
      0,
      600_000,
      0,
      'the lease granted, instead of `leaseMs` when longer, by every grant sent within `settleMs` of a ' +
        'promotion of the service (the promotion itself included): a just-promoted primary, flooded by the ' +
        'requests held through the failover while the old region thaws, may read nothing for longer than ' +
        'a healthy primary ever does. Counted like any grant, so a failover from a primary frozen within ' +
        'that window waits it out. 0: off (docs/fencing.md, "The lease")',
    ),
    settleMs: ms(
      0,
      600_000,
      0,
      'how long after a promotion of the service its grants carry `settleLeaseMs` (0: never)',
    ),
    standbySteadyMs: ms(
      0,
      ANY,
      2_000,
      'fail over only to a standby that has passed every probe for this long: when both regions fail ' +
        'probes together, the router or its host is the likelier culprit',
    ),
  },
  { additionalProperties: false },
);
export type PolicyConfig = Static<typeof PolicyConfigSchema>;

/**
 * loopback (default, the lab): every address is 127.x.y.z and the admin API answers loopback callers
 * only. container (docker-compose): the router listens on 0.0.0.0 or an IPv4 literal, reaches cells
 * and databases by DNS name, and the admin API takes any caller with the token (compose publishes the
 * router on 127.0.0.1 only).
 */
export const NETWORK_MODES = ['loopback', 'container'] as const;
export const NetworkModeSchema = Type.Enum(NETWORK_MODES);
export type NetworkMode = (typeof NETWORK_MODES)[number];

const perRegion = <T extends Parameters<typeof Type.Object>[0][string]>(value: T) =>
  Type.Object({ 'dc-a': value, 'dc-b': value }, { additionalProperties: false, keyKind: 'region' });

export const ServiceConfigFileSchema = Type.Object(
  {
    mode: ReplicationModeSchema,
    /**
     * active-passive (default): one primary, failover promotes the standby. active-active (messaging
     * only): both cells take writes; each request goes to its room's home region (homeRegion) while
     * that region serves, else to the other, with no promotion
     */
    topology: Type.Optional(ServiceTopologySchema),
    /**
     * an async service whose primary still names its standby in synchronous_standby_names because some
     * of its commits wait for it (login's revocations; vocabulary's SYNC_COMMITS_OF): the router handles
     * its standby's loss like a sync service's (degrade, strict refusal, restore); its failover stays
     * the async one (lag bound), RPO 0 from a standby in sync. Default: mode === 'sync'.
     */
    syncStandby: Type.Optional(Type.Boolean()),
    /** each region's cell app, http://host:port (host rules depend on the network mode) */
    cells: perRegion(Type.String()),
    /**
     * where each cell's Postgres listens ("host:port"), for the liveness probe; when absent, the cell
     * URL's host and probe.postgresPort (the lab's one-address-per-cell topology)
     */
    postgres: Type.Optional(perRegion(Type.String())),
    /** overrides of the file's policy for this service */
    policy: Type.Optional(Type.Partial(PolicyConfigSchema)),
  },
  { additionalProperties: false },
);
export type ServiceConfigFile = Static<typeof ServiceConfigFileSchema>;

export const RouterConfigFileSchema = Type.Object(
  {
    network: Type.Optional(NetworkModeSchema),
    listen: Type.Object({ host: Type.String(), port: Type.Integer({ minimum: 0, maximum: 65_535 }) }),
    stateFile: Type.String({ minLength: 1, expected: 'a file path' }),
    /** ADMIN_TOKEN in the environment wins (preferred: never in a file others read) */
    adminToken: Type.Optional(Type.String()),
    services: Type.Object(
      {
        login: Type.Optional(ServiceConfigFileSchema),
        payments: Type.Optional(ServiceConfigFileSchema),
        messaging: Type.Optional(ServiceConfigFileSchema),
      },
      {
        additionalProperties: false,
        minProperties: 1,
        keyKind: 'service',
        expected: 'an object naming at least one service',
      },
    ),
    probe: Type.Optional(Type.Partial(ProbeConfigSchema)),
    proxy: Type.Optional(Type.Partial(ProxyConfigSchema)),
    policy: Type.Optional(Type.Partial(PolicyConfigSchema)),
    /** bounded in-memory event ring */
    eventRingSize: Type.Optional(Type.Integer({ minimum: 10, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);
export type RouterConfigFile = Static<typeof RouterConfigFileSchema>;
