// `lab status`: what the supervisor knows of every process plus what each data store says of its
// role (the contract's LabStatus), and the table people read.
import {
  type CellStatus,
  describeFault,
  type LabStatus,
  REGIONS,
  type RegionName,
  SERVICES,
  type ServiceName,
} from '@failover-lab/contracts';
import { cellOf, type LabContext } from './context';
import { replicationInfo } from './datastores/postgres';
import { redisReplicationInfo } from './datastores/redis';
import { linksCall } from './faults/link';
import { componentId } from './processes';
import { listQuarantine } from './quarantine';

export async function labStatus(ctx: LabContext, startedAt: number): Promise<LabStatus> {
  const { processes, topo } = ctx;
  const cells = await Promise.all(
    SERVICES.flatMap((service) => REGIONS.map((region) => cellStatus(ctx, service, region))),
  );
  const router = processes.get('router');
  const prometheus = processes.get('prometheus');
  const labConsole = processes.get('console');
  const links = processes.get('links');
  const linkAnswer = processes.alive(links)
    ? await linksCall(ctx, '/faults').catch(() => undefined)
    : undefined;
  const pid = (m: typeof router) => (processes.alive(m) ? m.child.pid! : null);
  return {
    subnet: topo.subnet,
    messagingTopology: topo.messaging,
    stateDir: ctx.paths.stateDir,
    supervisor: { pid: process.pid, uptimeMs: Date.now() - startedAt },
    cells,
    quarantine: listQuarantine(ctx.paths.quarantineDir),
    edge: {
      host: topo.edge.host,
      controlPlane: ctx.controlPlane,
      router: {
        state: ctx.components.some((c) => c.kind === 'router') ? processes.state(router) : 'absent',
        url: topo.edge.routerUrl,
        restarts: router?.restarts ?? 0,
        pid: pid(router),
      },
      prometheus: { state: processes.state(prometheus), url: topo.edge.prometheusUrl, pid: pid(prometheus) },
      control: { url: topo.edge.controlUrl },
      links: {
        state: processes.state(links),
        url: topo.edge.linksUrl,
        pid: pid(links),
        faults: linkAnswer?.faults ?? [],
        ...(linkAnswer?.forwarding ? { forwarding: linkAnswer.forwarding } : {}),
      },
      console: {
        state: ctx.components.some((c) => c.kind === 'console') ? processes.state(labConsole) : 'absent',
        url: topo.edge.consoleUrl,
        pid: pid(labConsole),
      },
    },
  };
}

async function cellStatus(ctx: LabContext, service: ServiceName, region: RegionName): Promise<CellStatus> {
  const { processes } = ctx;
  const nodes = cellOf(ctx, service, region);
  const pg = processes.get(componentId(service, region, 'postgres'));
  const redis = processes.get(componentId(service, region, 'redis'));
  const app = processes.get(componentId(service, region, 'app'));
  const pgState = processes.state(pg);
  const redisState = processes.state(redis);

  const postgres: CellStatus['postgres'] = {
    role: pgState === 'up' ? 'down' : pgState,
    lagBytes: null,
    replication: pgState,
    pid: processes.alive(pg) ? pg.child.pid! : null,
    address: `${nodes.postgres.host}:${nodes.postgres.port}`,
  };
  if (pgState === 'up') {
    const info = await replicationInfo(nodes.postgres).catch(() => undefined);
    if (info)
      Object.assign(postgres, { role: info.role, lagBytes: info.lagBytes, replication: info.replication });
    else postgres.replication = 'not answering';
  }

  const redisStatus: CellStatus['redis'] = {
    role: redisState === 'up' ? 'down' : redisState,
    link: redisState,
    pid: processes.alive(redis) ? redis.child.pid! : null,
    address: `${nodes.redis.host}:${nodes.redis.port}`,
  };
  if (redisState === 'up') {
    const info = await redisReplicationInfo(nodes.redis).catch(() => undefined);
    if (info) Object.assign(redisStatus, { role: info.role, link: info.link });
    else redisStatus.link = 'not answering';
  }

  const runsApps = ctx.components.some((c) => c.id === componentId(service, region, 'app'));
  return {
    service,
    region,
    host: nodes.host,
    postgres,
    redis: redisStatus,
    app: {
      state: runsApps ? processes.state(app) : 'absent',
      restarts: app?.restarts ?? 0,
      pid: processes.alive(app) ? app.child.pid! : null,
      url: `http://${nodes.host}:${ctx.topo.ports.app}`,
    },
  };
}

function linkLines(status: LabStatus): string[] {
  const links = status.edge.links;
  if (!links) return [];
  const faults = links.faults.map((f) => `  ${describeFault(f)}`);
  const f = links.forwarding;
  const atRest = !f
    ? ''
    : f.mode === 'kernel'
      ? `; at rest: kernel-forwarded (iptables nat), ${f.kernelLinks.length} link(s) now`
      : `; at rest: through the proxy (${f.reason ?? 'no reason given'})`;
  return [
    `links ${links.state} (${links.url}): ${faults.length === 0 ? 'no link fault' : `${faults.length} link fault(s)`}${atRest}`,
    ...faults,
  ];
}

/** A readable table for people; `status --json` is for programs. */
export function formatStatus(status: LabStatus): string {
  const header = [
    'service',
    'region',
    'address',
    'postgres',
    'lag B',
    'replication',
    'redis',
    'app',
    'restarts',
  ];
  const rows = status.cells.map((c) => [
    c.service,
    c.region,
    c.host,
    c.postgres.role,
    c.postgres.lagBytes === null ? '-' : String(c.postgres.lagBytes),
    c.postgres.replication,
    `${c.redis.role} (${c.redis.link})`,
    c.app.state,
    String(c.app.restarts),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const { router, prometheus } = status.edge;
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `edge ${status.edge.host}: router ${router.state} (${router.url}, restarts ${router.restarts}), ` +
      `prometheus ${prometheus.state} (${prometheus.url})` +
      (status.edge.console && status.edge.console.state !== 'absent'
        ? `, console ${status.edge.console.state} (${status.edge.console.url})`
        : ''),
    ...(status.quarantine ?? []).map((q) => `quarantine: ${q.rows} forked ${q.service} row(s) in ${q.file}`),
    ...linkLines(status),
    `messaging topology: ${status.messagingTopology ?? 'active-passive'}`,
    `state dir ${status.stateDir}; supervisor pid ${status.supervisor.pid}, up ${Math.round(status.supervisor.uptimeMs / 1000)} s`,
  ].join('\n');
}
