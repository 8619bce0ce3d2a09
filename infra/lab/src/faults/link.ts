// The link faults (link_latency, link_bandwidth, link_loss, link_partition, link_reset, link_heal):
// the links process holds them; applying one is a call to its control API, and every one of them is
// undone by link_heal on the same link. The links process is at the edge, so a region kill leaves
// the network alone.
import { type errorBody, type Fault, type LinkFaults, linkName } from '@failover-lab/contracts';
import type { LabContext } from '../context';
import { labLinks } from '../topology';
import type { LabFault, Outcome } from './fault';

export async function linksCall(ctx: Pick<LabContext, 'topo' | 'secrets'>, path: string, body?: unknown) {
  const res = await fetch(`${ctx.topo.edge.linksUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${ctx.secrets.controlToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const payload = (await res.json()) as LinkFaults & ReturnType<typeof errorBody>;
  if (!res.ok) throw new Error(`links ${path}: ${payload.error?.code} ${payload.error?.message}`);
  return payload as LinkFaults;
}

/** The links a fault reaches (either way round; one service's or every service's). */
function reached(ctx: LabContext, fault: Fault): string[] {
  const { from, region, service } = fault.target;
  return labLinks(ctx.topo.subnet, ctx.topo.ports)
    .filter((l) => [l.from, l.to].sort().join('|') === [from, region].sort().join('|'))
    .filter((l) => service === undefined || l.service === service)
    .map(linkName);
}

async function applyLink(ctx: LabContext, fault: Fault): Promise<Outcome> {
  await linksCall(ctx, '/faults', fault);
  return { affected: reached(ctx, fault) };
}

export const linkFault: LabFault = {
  apply: (ctx, _target, fault) => {
    if (!fault)
      throw new Error('a link fault is applied with its direction and attributes (the whole fault)');
    return applyLink(ctx, fault);
  },
  reset: (ctx, target) =>
    applyLink(ctx, {
      kind: 'link_heal',
      target: {
        from: target.from,
        region: target.region,
        ...(target.service ? { service: target.service } : {}),
      },
    }),
};
