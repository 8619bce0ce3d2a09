// Carrying out what an operator asked for, once decide() has said yes: a planned switchover and a
// fence. Both run serialized with the service's ticks (Controller.serialized).
import type { EventType, PromotionSteps, RegionName, ServiceName } from '@failover-lab/contracts';
import { CellAdminError, type PromoteResult } from '../cell-admin';
import { parseLsn } from '../cell-types';
import { RouterError } from '../errors';
import type { ControllerDeps } from './controller';
import type { Decision } from './decide';

/** What these use of the controller's loop. */
export interface ControllerOps {
  readonly deps: ControllerDeps;
  /** durable before any cell hears of the epoch */
  persist(service: ServiceName, primary: RegionName, epoch: number): Promise<void>;
  emit(
    type: EventType,
    service: ServiceName,
    region: RegionName,
    epoch: number,
    detail?: string,
    steps?: PromotionSteps,
  ): void;
  /** the route table, gauges and routed events follow the persisted state again */
  reroute(service: ServiceName): void;
  /** POST /admin/promote with the lease it grants, counted (Controller.promote) */
  promote(service: ServiceName, region: RegionName, epoch: number): Promise<PromoteResult>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Planned switchover, zero loss: hold the service's traffic, let the writes in flight finish, fence the
 * old primary, wait until the standby has replayed everything the old primary wrote, persist the new
 * epoch, promote, route. On any failure before the promotion the old primary is un-fenced (re-promoted
 * at its own epoch) and traffic released.
 */
export async function runSwitchover(
  ops: ControllerOps,
  service: ServiceName,
  decision: Extract<Decision, { kind: 'switchover' }>,
) {
  const { deps } = ops;
  const { from, to, epoch } = decision;
  const cells = deps.services[service]!.cells;
  const previousEpoch = epoch - 1;
  const started = deps.clock.now();
  deps.routes.hold(service);
  let fenced = false;
  try {
    await drain(deps, service, from);
    await deps.admin.fence(cells[from], previousEpoch);
    fenced = true;
    ops.emit('fenced', service, from, previousEpoch, 'switchover');
    const primaryLsn = parseLsn((await deps.admin.state(cells[from])).walLsn);
    if (primaryLsn === null)
      throw new RouterError('ROUTER_ERR_CONFLICT', `${from} did not report its WAL position`);
    await waitForReplay(deps, cells[to], primaryLsn, deps.services[service]!.policy.switchoverCatchUpMs);
    ops.emit('promote_started', service, to, epoch, 'switchover');
    await ops.persist(service, to, epoch);
  } catch (err) {
    if (fenced) await ops.promote(service, from, previousEpoch).catch(() => {});
    deps.routes.release(service);
    if (err instanceof RouterError) throw err;
    if (err instanceof CellAdminError) throw new RouterError('ROUTER_ERR_CELL_UNREACHABLE', err.message);
    throw err;
  }
  try {
    const result = await ops.promote(service, to, epoch);
    ops.emit('promoted', service, to, epoch, `switchover; promoteMs=${result.promoteMs ?? 0}`);
    await deps.health.probeNow(service, to);
  } finally {
    // Route first, release second: held requests must wake up to the new primary, never the old one.
    // Even if the promote call failed, the epoch is persisted: the next tick claims the target.
    ops.reroute(service);
    deps.routes.release(service);
  }
  return { service, from, to, epoch, ms: deps.clock.now() - started };
}

/** Operator fence of a cell that is not the primary (decide() refuses the primary). */
export async function runOperatorFence(
  ops: ControllerOps,
  service: ServiceName,
  decision: Extract<Decision, { kind: 'operator_fence' }>,
): Promise<{ region: RegionName; epoch: number }> {
  const { region, epoch } = decision;
  try {
    await ops.deps.admin.fence(ops.deps.services[service]!.cells[region], epoch);
  } catch (err) {
    throw new RouterError('ROUTER_ERR_CELL_UNREACHABLE', (err as Error).message);
  }
  ops.emit('fenced', service, region, epoch, 'operator fence');
  return { region, epoch };
}

/**
 * Until every write sent to the old primary has been answered or is past its deadline (after which
 * the cell's commit guard refuses it: docs/fencing.md). No fixed cap: fencing earlier would fail a
 * slow write the client was promised an answer to. Reads, SSE streams included, do not hold it: they
 * change nothing, and a stream never ends by itself.
 */
async function drain(deps: ControllerDeps, service: ServiceName, region: RegionName): Promise<void> {
  while (deps.clock.now() <= deps.routes.writesMayLandUntil(service, region)) await sleep(10);
}

async function waitForReplay(
  deps: ControllerDeps,
  url: string,
  target: bigint,
  timeoutMs: number,
): Promise<void> {
  const deadline = deps.clock.now() + timeoutMs;
  for (;;) {
    const replayed = parseLsn((await deps.admin.state(url)).walLsn);
    if (replayed !== null && replayed >= target) return;
    if (deps.clock.now() >= deadline) {
      throw new RouterError('ROUTER_ERR_CONFLICT', 'standby did not catch up with the primary in time');
    }
    await sleep(20);
  }
}
