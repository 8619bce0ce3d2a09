// "Healthy" before a drill and after a reset: for every service the router serves from a primary
// whose standby (the other region) is streaming, and payments (and login, for its revocations)
// replicates synchronously again.
import {
  keepsSyncStandbyWhen,
  otherRegion,
  REGIONS,
  type RegionName,
  SERVICES,
  type ServiceName,
  subscriptionFrom,
} from '@failover-lab/contracts';
import type { AdminApi } from './admin';

export interface RouterServiceStatus {
  primary: RegionName;
  epoch: number;
  mode: 'sync' | 'async';
  serving: boolean;
  refuseWrites?: boolean;
  rpoGuaranteeSuspended?: boolean;
  /** absent on routers older than active-active: active-passive */
  topology?: 'active-passive' | 'active-active';
  /** active-active: the regions taking traffic now */
  active?: RegionName[];
}

export async function routerServices(admin: AdminApi): Promise<Record<ServiceName, RouterServiceStatus>> {
  const status = (await admin.routerStatus()) as { services: Record<ServiceName, RouterServiceStatus> };
  return status.services;
}

/** Why the platform is not in steady state (empty = steady). */
export async function steadyStateProblems(admin: AdminApi): Promise<string[]> {
  const problems: string[] = [];
  let router: Record<ServiceName, RouterServiceStatus>;
  try {
    router = await routerServices(admin);
  } catch (err) {
    return [`router status unavailable: ${(err as Error).message}`];
  }
  await Promise.all(
    SERVICES.map(async (service) => {
      const r = router[service];
      if (!r?.serving) {
        problems.push(`${service}: router not serving`);
        return;
      }
      if (r.topology === 'active-active') {
        problems.push(...(await activeActiveProblems(admin, service, r)));
        return;
      }
      const state = await admin.cellState(service, r.primary);
      if (state?.role !== 'primary') {
        problems.push(`${service}: ${r.primary} is ${state?.role ?? 'unreachable'}, not primary`);
        return;
      }
      const standby = otherRegion(r.primary);
      const link = state.standbys?.find((s) => s.name === standby);
      if (link?.state !== 'streaming') problems.push(`${service}: standby ${standby} not streaming`);
      // judged by the mode the router runs the service in: a payments=async lab keeps no sync standby
      if (keepsSyncStandbyWhen(service, r.mode) && (r.rpoGuaranteeSuspended || link?.syncState !== 'sync')) {
        problems.push(`${service}: not replicating synchronously to ${standby}`);
      }
    }),
  );
  return problems.sort();
}

/** Active-active: both regions in the route, each a primary whose origin the other subscribes to. */
async function activeActiveProblems(
  admin: AdminApi,
  service: ServiceName,
  r: RouterServiceStatus,
): Promise<string[]> {
  const problems: string[] = [];
  for (const region of REGIONS) {
    if (!r.active?.includes(region)) problems.push(`${service}: ${region} not in the active-active route`);
    const state = await admin.cellState(service, region);
    if (state?.role !== 'primary') {
      problems.push(`${service}: ${region} is ${state?.role ?? 'unreachable'}, not primary (active-active)`);
      continue;
    }
    const link = state.standbys?.find((s) => s.name === subscriptionFrom(region));
    if (link?.state !== 'streaming')
      problems.push(`${service}: ${otherRegion(region)} does not stream ${region}'s writes`);
  }
  return problems;
}

export async function waitForSteadyState(admin: AdminApi, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let problems: string[] = [];
  while (Date.now() < deadline) {
    problems = await steadyStateProblems(admin);
    if (problems.length === 0) return;
    // a fresh lab's router is in steady state within a probe interval or two: look again soon
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not in steady state after ${timeoutMs} ms: ${problems.join('; ')}`);
}
