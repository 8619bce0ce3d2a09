// SIGKILL to every process family a target reaches, all at once (region_kill, component_kill).
import type { FaultTarget } from '@failover-lab/contracts';
import type { LabContext } from '../context';
import { signalFamilies, waitGone } from '../process';
import type { Outcome } from './fault';

const GONE_TIMEOUT_MS = 5_000;

/**
 * Killing only apps counts as a crash: the supervisor restarts them in place. Anything else stays
 * dead until a restore. Answers once every process of every family has exited, and fails if one still
 * runs: a kill that left a process behind is not the fault it claims to be.
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
  // When each component's leader (an app, a postmaster, a redis-server) exited: its listening socket
  // closes with it, which is what a router can first see of the kill, before the whole family is gone.
  const leaderGone = new Map<string, number>();
  for (const m of victims)
    m.child.once('exit', () => leaderGone.set(m.id, Math.round(performance.now() - t0)));
  const pids = signalFamilies(
    victims.map((m) => m.child.pid!),
    'SIGKILL',
  );
  const signalledMs = Math.round(performance.now() - t0);
  const gone = await waitGone(pids, GONE_TIMEOUT_MS);
  const what = [target.region, target.service, target.component].filter(Boolean).join('/');
  // what a kill's detection waits for: the kernel tearing the processes down, beside the scan
  ctx.log(
    `kill ${what}: ${pids.length} process(es) of ${victims.length} component(s) signalled after ` +
      `${signalledMs} ms, ${gone ? 'every one gone' : 'NOT all gone'} after ${Math.round(performance.now() - t0)} ms; ` +
      // not reaped yet: the scan counts a zombie as gone, but the lab has not seen its exit (in every
      // region kill so far, the apps: many-threaded, they are reaped once their last thread has exited)
      `leaders gone after: ${victims
        .map((m) => {
          const ms = leaderGone.get(m.id);
          return `${m.id} ${ms === undefined ? 'not reaped yet' : `${ms} ms`}`;
        })
        .join(', ')}`,
  );
  if (!gone) {
    throw new Error(
      `SIGKILL sent, but a process of ${victims.map((m) => m.id).join(', ')} still runs ${GONE_TIMEOUT_MS} ms later`,
    );
  }
  return { affected: victims.map((m) => m.id) };
}
