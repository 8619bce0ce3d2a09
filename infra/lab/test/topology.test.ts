// The lab's addresses for the lab people run (subnet 0): the edge and every link have addresses of
// their own, and a cell trusts x-forwarded-for from its edge link only — never from 127.0.0.1, the
// source address of every local client that binds none.
import { REGIONS, SERVICES } from '@failover-lab/contracts';
import { describe, expect, it } from 'vitest';
import { linksComponent, nodeComponents, routerConfig } from '../src/components';
import { LabPaths } from '../src/paths';
import { generateSecrets } from '../src/secrets';
import { edgeLinkHost, labLinks, replicationLinkHost, topology } from '../src/topology';

const ctx = {
  paths: new LabPaths('/nonexistent/flab-topology'),
  topo: topology(0),
  secrets: generateSecrets(),
};

describe('lab topology at subnet 0', () => {
  it('puts the edge on an address of its own, not 127.0.0.1', () => {
    expect(ctx.topo.edge.host).toBe('127.0.0.2');
    expect(ctx.topo.edge.routerUrl).toBe('http://127.0.0.2:8080');
  });

  it('has each cell trust exactly the edge link its router traffic arrives through', () => {
    const apps = nodeComponents(ctx).filter((c) => c.kind === 'app');
    expect(apps).toHaveLength(SERVICES.length * REGIONS.length);
    for (const app of apps) {
      expect(app.env.TRUSTED_PROXIES).toBe(edgeLinkHost(app.region!, app.service!, 0));
      expect(app.env.TRUSTED_PROXIES).not.toContain('127.0.0.1');
    }
  });

  it('sends the router through the edge links, and gives every link a distinct address', () => {
    const config = routerConfig(ctx);
    expect(config.services.payments?.cells['dc-a']).toBe('http://127.0.11.2:3000');
    expect(config.services.login?.cells['dc-b']).toBe('http://127.0.12.1:3000');
    const links = labLinks(0, ctx.topo.ports);
    expect(new Set(links.map((l) => l.host)).size).toBe(links.length);
    expect(links.every((l) => l.source === l.host)).toBe(true);
    expect(links.find((l) => l.from === 'dc-b' && l.to === 'dc-a' && l.service === 'payments')?.host).toBe(
      replicationLinkHost('dc-a', 'payments', 0),
    );
    // the token reaches the links process through its environment only
    expect(linksComponent(ctx).env.LINKS_TOKEN).toBe(ctx.secrets.controlToken);
  });
});
