// "Active faults" in plain words, from what the lab supervisor and the router report: which
// processes are dead or frozen, which links are slowed or cut, which cells are fenced, which sync
// service runs without its standby.
import { type CellStatus, describeFault, type LabStatus, REGIONS, SERVICES } from '@failover-lab/contracts';
import type { RouterStatus } from './router-client';

type ComponentState = 'up' | 'down' | 'frozen' | 'absent';

function componentStates(cell: CellStatus): Record<'postgres' | 'redis' | 'app', ComponentState> {
  const data = (role: string): ComponentState =>
    role === 'down' ? 'down' : role === 'frozen' ? 'frozen' : 'up';
  return { postgres: data(cell.postgres.role), redis: data(cell.redis.role), app: cell.app.state };
}

export function activeFaults(lab: LabStatus | null, router: RouterStatus | null): string[] {
  const faults: string[] = [];
  if (lab) {
    for (const region of REGIONS) {
      const cells = lab.cells.filter((c) => c.region === region);
      const states = cells.flatMap((c) => Object.values(componentStates(c)).filter((s) => s !== 'absent'));
      if (states.length > 0 && states.every((s) => s === 'down')) {
        faults.push(`${region}: region down (every process dead)`);
        continue;
      }
      if (states.length > 0 && states.every((s) => s === 'frozen')) {
        faults.push(`${region}: region frozen (every process stopped)`);
        continue;
      }
      for (const cell of cells) {
        for (const [component, state] of Object.entries(componentStates(cell))) {
          if (state === 'down' || state === 'frozen') {
            const why = component === 'app' && state === 'down' ? ' (the supervisor restarts it)' : '';
            faults.push(`${cell.service} ${region}: ${component} ${state}${why}`);
          }
        }
      }
    }
    if (lab.edge.router.state !== 'up' && lab.edge.router.state !== 'absent') {
      faults.push(`edge: router ${lab.edge.router.state}`);
    }
    if (lab.edge.links && lab.edge.links.state !== 'up') faults.push(`edge: links ${lab.edge.links.state}`);
    // link faults in the registry's words: `link_latency edge→dc-a direction=to latency_ms=300`
    for (const fault of lab.edge.links?.faults ?? []) faults.push(`link: ${describeFault(fault)}`);
  }
  if (router) {
    for (const service of SERVICES) {
      const s = router.services[service];
      if (!s) continue;
      for (const region of REGIONS) {
        if (s.cells[region]?.fenced)
          faults.push(`${service} ${region}: fenced (takes no writes until restored)`);
      }
      if (s.rpoGuaranteeSuspended) faults.push(`${service}: no synchronous standby (RPO 0 suspended)`);
      if (!s.serving) faults.push(`${service}: no serving primary (failing over)`);
    }
  }
  return faults;
}
