// SIGKILL to every process family a target reaches, all at once (region_kill, component_kill).
import type { FaultTarget } from '@failover-lab/contracts';
import type { LabContext } from '../context';
import { signalFamilies, sleep, waitGone } from '../process';
import type { Managed } from '../processes';
import type { Outcome } from './fault';

const GONE_TIMEOUT_MS = 5_000;

/**
 * Killing only apps counts as a crash: the supervisor restarts them in place. Anything else stays
 * dead until a restore.
 */
export async function killReached(ctx: LabContext, target: FaultTarget): Promise<Outcome> {
  const { processes } = ctx;
  const crash = target.component === 'app';
  const reached = processes.reachedBy(target);
  // Settle the dead ones too: an app waiting out its restart backoff would otherwise come back up
  // inside a region that was just killed.
  if (!crash) for (const m of reached) processes.settle(m, 'killed');
  const victims = reached.filter((m) => processes.alive(m));
  const t0 = performance.now();
  const how = await killAll(ctx, victims);
  const what =
    target.region +
    (target.service ? `/${target.service}` : '') +
    (target.component ? `/${target.component}` : '');
  ctx.log(
    `kill ${what}: ${victims.length} component(s) ${how}, every process gone after ${Math.round(performance.now() - t0)} ms`,
  );
  return { affected: victims.map((m) => m.id) };
}

/** How the victims were killed, once every process of theirs has exited. */
async function killAll(ctx: LabContext, victims: Managed[]): Promise<string> {
  const cgroups = ctx.processes.cgroups;
  const groups = victims.map((m) => m.cgroup);
  if (cgroups && groups.every((g): g is string => g !== undefined)) {
    // one write per component, and the kernel signals every process of it (cgroups.ts)
    for (const group of groups) cgroups.kill(group);
    const deadline = Date.now() + GONE_TIMEOUT_MS;
    while (groups.some((g) => cgroups.populated(g))) {
      if (Date.now() > deadline) throw survivors(victims.filter((m) => cgroups.populated(m.cgroup!)));
      await sleep(5);
    }
    return 'by cgroup.kill';
  }
  const t0 = performance.now();
  const pids = signalFamilies(
    victims.map((m) => m.child.pid!),
    'SIGKILL',
  );
  const signalledMs = Math.round(performance.now() - t0);
  if (!(await waitGone(pids, GONE_TIMEOUT_MS))) throw survivors(victims);
  return `by their families from /proc (${pids.length} processes signalled after ${signalledMs} ms)`;
}

/** A kill that left a process running is not the fault it claims to be: the drill must not go on. */
const survivors = (of: Managed[]) =>
  new Error(
    `SIGKILL sent, but a process of ${of.map((m) => m.id).join(', ')} still runs ${GONE_TIMEOUT_MS} ms later`,
  );
