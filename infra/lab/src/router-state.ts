// The router's persisted route, read from its state file while no router runs (a warm `up` decides
// each cell before it starts the router: started first, the router would see booting cells as dead).
// Restore asks the running router instead (GET /admin/status); both read the same truth.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  problemsOf,
  type RouterStateFile,
  RouterStateSchema,
  type ServiceName,
} from '@failover-lab/contracts';
import type { LabContext } from './context';
import type { ControlPlaneView } from './restore-plan';

/** Where the lab's router keeps its state (components.ts writes the same path into its config). */
export function routerStateFile(
  ctx: Pick<LabContext, 'paths'> & Partial<Pick<LabContext, 'controlPlane'>>,
): string {
  return join(ctx.paths.controlPlaneDir(ctx.controlPlane ?? 'edge'), 'router-state.json');
}

/**
 * Per service, what the router will believe when it starts: its persisted primary and epoch, or, for a
 * service it has no state for yet, the first state it creates (dc-a at epoch 1). A lab that runs no
 * router has no control plane; a state file that cannot be read is said, never guessed around.
 */
export function persistedRoute(
  ctx: Pick<LabContext, 'paths' | 'controlPlane' | 'components'>,
): (service: ServiceName) => ControlPlaneView {
  if (!ctx.components.some((c) => c.kind === 'router')) return () => ({ kind: 'none' });
  const file = routerStateFile(ctx);
  let state: RouterStateFile | null = null;
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    const problems = problemsOf(RouterStateSchema, parsed);
    if (problems.length > 0) throw new Error(problems.join('; '));
    state = parsed as RouterStateFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      const reason = `${file}: ${(err as Error).message.split('\n')[0]}`;
      return () => ({ kind: 'unreachable', reason });
    }
  }
  return (service) => {
    const s = state?.services[service];
    return s
      ? { kind: 'route', primary: s.primary, epoch: s.epoch }
      : { kind: 'route', primary: 'dc-a', epoch: 1 };
  };
}
