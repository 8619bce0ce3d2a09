// Links (docs/contracts.md "Links"): every connection between the edge and a region, and between the
// regions, crosses a link proxy with its own address, so a link can be slowed, made lossy, cut one way
// or both, and healed. The lab and compose write a LinksConfigFile; the links process reads it and
// answers its control API with these shapes.
import { type Static, Type } from 'typebox';
import { FaultSchema, LinkEndSchema } from './faults';
import { RegionNameSchema, ServiceNameSchema } from './vocabulary';

const Port = Type.Integer({ minimum: 1, maximum: 65_535 });

/** One port a link forwards: it listens on the link's address and connects to the target. */
export const LinkPortSchema = Type.Object(
  {
    /** what crosses here (app, postgres, redis): for logs and status */
    name: Type.String({ minLength: 1 }),
    listen: Port,
    target: Type.Object({ host: Type.String({ minLength: 1 }), port: Port }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);
export type LinkPort = Static<typeof LinkPortSchema>;

/**
 * One link: the connections `from` opens towards `to`'s cell of `service`. It listens on `host` and
 * connects out from `source` (the lab: the same address), so the cell sees exactly which link a
 * connection came through.
 */
export const LinkSchema = Type.Object(
  {
    from: LinkEndSchema,
    to: RegionNameSchema,
    service: ServiceNameSchema,
    host: Type.String({ minLength: 1 }),
    /** the source address of its connections to the target; absent: the kernel's choice (compose) */
    source: Type.Optional(Type.String({ minLength: 1 })),
    ports: Type.Array(LinkPortSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);
export type Link = Static<typeof LinkSchema>;

export const LinksConfigFileSchema = Type.Object(
  {
    /** the control API (faults, status); every route but GET /health/live needs LINKS_TOKEN */
    control: Type.Object({ host: Type.String(), port: Port }, { additionalProperties: false }),
    /** the active faults survive a restart of the links process here */
    stateFile: Type.String({ minLength: 1 }),
    links: Type.Array(LinkSchema, { minItems: 1 }),
    /**
     * A link with no fault is forwarded by the kernel (iptables nat DNAT + SNAT to the link's source
     * address) in chains `<chain>-O` and `<chain>-P`, and moves to the proxy when a fault touches it.
     * Needs root, iptables and `ss -K`; without them every link stays on the proxy. Absent: proxy only.
     */
    kernel: Type.Optional(
      Type.Object(
        {
          chain: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]{0,22}$' }),
          /**
           * `edge` (default): only the edge links (router → cells). A fault first closes the
           * kernel-forwarded connections of its link, so a one-way cut of a replication link would
           * reach only a reconnecting standby (whose handshake then hangs), never the long-lived
           * stream it is meant to cut one way: replication links stay on the proxy unless `all`.
           */
          scope: Type.Optional(Type.Union([Type.Literal('edge'), Type.Literal('all')])),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type LinksConfigFile = Static<typeof LinksConfigFileSchema>;

/** How links at rest are forwarded: `kernel` (iptables nat) or `proxy` (and why not the kernel). */
export const LinkForwardingSchema = Type.Object({
  mode: Type.Union([Type.Literal('kernel'), Type.Literal('proxy')]),
  /** `proxy`: why the kernel path is off */
  reason: Type.Optional(Type.String()),
  /** links the kernel forwards right now (no fault on them), `from→to/service` */
  kernelLinks: Type.Array(Type.String()),
});
export type LinkForwarding = Static<typeof LinkForwardingSchema>;

/** GET /faults, and the answer of POST /faults and POST /reset: every fault active now. */
export const LinkFaultsSchema = Type.Object({
  faults: Type.Array(FaultSchema),
  /** open connections per link, `from→to/service` */
  connections: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
  forwarding: Type.Optional(LinkForwardingSchema),
});
export type LinkFaults = Static<typeof LinkFaultsSchema>;

/** `edge→dc-a/payments`: a link as logs, status and errors name it. */
export const linkName = (link: Pick<Link, 'from' | 'to' | 'service'>) =>
  `${link.from}→${link.to}/${link.service}`;
