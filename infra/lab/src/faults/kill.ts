// SIGKILL to every process family a target reaches, all at once (region_kill, component_kill).
import type { FaultTarget } from '@failover-lab/contracts';
import type { LabContext } from '../context';
import { signalFamilies, waitGone } from '../process';
import type { Outcome } from './fault';

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
  const pids = signalFamilies(
    victims.map((m) => m.child.pid!),
    'SIGKILL',
  );
  await waitGone(pids, 5_000);
  return { affected: victims.map((m) => m.id) };
}
