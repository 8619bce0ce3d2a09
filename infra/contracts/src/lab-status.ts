// `npm run lab -- status --json` and the lab control API's GET /status: a superset of
// test/contracts/lab-status.schema.json (a test checks the lab's real answers against both).
import { type Static, Type } from 'typebox';
import { FaultSchema } from './faults';
import { LinkForwardingSchema } from './links';
import {
  ControlPlanePlacementSchema,
  RegionNameSchema,
  ServiceNameSchema,
  ServiceTopologySchema,
} from './vocabulary';

/** What the supervisor sees of a process: running, gone, or stopped by SIGSTOP. */
export const ProcessStateSchema = Type.Enum(['up', 'down', 'frozen']);
export type ProcessState = Static<typeof ProcessStateSchema>;

const Pid = Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]);

export const CellStatusSchema = Type.Object({
  service: ServiceNameSchema,
  region: RegionNameSchema,
  host: Type.String(),
  postgres: Type.Object({
    role: Type.Enum(['primary', 'standby', 'down', 'frozen']),
    /** standby: received − replayed WAL bytes; otherwise null */
    lagBytes: Type.Union([Type.Integer(), Type.Null()]),
    /** standby: WAL receiver status; primary: `<standby>:<state>/<sync_state>` per standby */
    replication: Type.String(),
    pid: Pid,
    address: Type.String(),
  }),
  redis: Type.Object({
    role: Type.Enum(['master', 'replica', 'down', 'frozen']),
    /** replica: master_link_status; master: connected replicas */
    link: Type.String(),
    pid: Pid,
    address: Type.String(),
  }),
  /** absent: this lab runs no apps (started with apps: false) */
  app: Type.Object({
    state: Type.Enum(['up', 'down', 'frozen', 'absent']),
    restarts: Type.Integer({ minimum: 0 }),
    pid: Pid,
    url: Type.String(),
  }),
});
export type CellStatus = Static<typeof CellStatusSchema>;

export const LabStatusSchema = Type.Object({
  subnet: Type.Integer({ minimum: 0, maximum: 254 }),
  /** messaging's topology, chosen at the first `lab up` and kept with the lab's state */
  messagingTopology: Type.Optional(ServiceTopologySchema),
  stateDir: Type.String(),
  supervisor: Type.Object({ pid: Type.Integer(), uptimeMs: Type.Number({ minimum: 0 }) }),
  cells: Type.Array(CellStatusSchema),
  /**
   * rows a stale primary held that the router's primary lacked, exported by restore before it rebuilt
   * that node (one JSON line per row); an acknowledged write found only here was lost
   */
  quarantine: Type.Optional(
    Type.Array(
      Type.Object({ file: Type.String(), service: Type.String(), rows: Type.Integer({ minimum: 0 }) }),
    ),
  ),
  edge: Type.Object({
    host: Type.String(),
    /**
     * where the router (its state) and Prometheus run: `edge`, or inside a region whose kill takes them
     * down too (the control-plane drill's "Kakao" arm); absent: edge
     */
    controlPlane: Type.Optional(ControlPlanePlacementSchema),
    router: Type.Object({
      state: Type.Enum(['up', 'down', 'frozen', 'absent']),
      url: Type.String(),
      restarts: Type.Integer({ minimum: 0 }),
      pid: Pid,
    }),
    prometheus: Type.Object({ state: ProcessStateSchema, url: Type.String(), pid: Pid }),
    control: Type.Object({ url: Type.String() }),
    /** the link proxies (docs/contracts.md "Links") and every link fault active now */
    links: Type.Optional(
      Type.Object({
        state: ProcessStateSchema,
        url: Type.String(),
        pid: Pid,
        faults: Type.Array(FaultSchema),
        forwarding: Type.Optional(LinkForwardingSchema),
      }),
    ),
    /** the lab console; `absent` when the lab was started without it */
    console: Type.Optional(
      Type.Object({ state: Type.Enum(['up', 'down', 'frozen', 'absent']), url: Type.String(), pid: Pid }),
    ),
  }),
});
export type LabStatus = Static<typeof LabStatusSchema>;
