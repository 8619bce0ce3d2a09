// `lab status` — the shape (a superset of test/contracts/lab-status.schema.json) and its table.
import type { RegionName, ServiceName } from './topology';

export type ProcessState = 'up' | 'down' | 'frozen';

export interface CellStatus {
  service: ServiceName;
  region: RegionName;
  host: string;
  postgres: {
    role: 'primary' | 'standby' | 'down' | 'frozen';
    /** standby: received − replayed WAL bytes; otherwise null */
    lagBytes: number | null;
    /** standby: WAL receiver status; primary: `<standby>:<state>/<sync_state>` per standby */
    replication: string;
    pid: number | null;
    address: string;
  };
  redis: {
    role: 'master' | 'replica' | 'down' | 'frozen';
    /** replica: master_link_status; master: connected replicas */
    link: string;
    pid: number | null;
    address: string;
  };
  app: { state: 'up' | 'down' | 'frozen' | 'absent'; restarts: number; pid: number | null; url: string };
}

export interface LabStatus {
  subnet: number;
  stateDir: string;
  supervisor: { pid: number; uptimeMs: number };
  cells: CellStatus[];
  edge: {
    host: string;
    router: { state: 'up' | 'down' | 'frozen' | 'absent'; url: string; restarts: number; pid: number | null };
    prometheus: { state: ProcessState; url: string; pid: number | null };
    control: { url: string };
    /** the lab console; `absent` when the lab was started without it */
    console?: { state: 'up' | 'down' | 'frozen' | 'absent'; url: string; pid: number | null };
  };
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
    `state dir ${status.stateDir}; supervisor pid ${status.supervisor.pid}, up ${Math.round(status.supervisor.uptimeMs / 1000)} s`,
  ].join('\n');
}
