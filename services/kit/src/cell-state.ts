// What a cell knows about itself: epoch (fencing token), fenced flag, and its Postgres role.
// The role is cached and refreshed every ~250 ms (and at once after a read-only error), so the
// write path never waits for a role query and a demoted node answers 503 FENCED, never 500.

import type { IncomingHttpHeaders } from 'node:http';
import {
  CELL_REGION_HEADER,
  CELL_ROLE_HEADER,
  type CellRole,
  DEADLINE_HEADER,
  EPOCH_HEADER,
  LEASE_DEADLINE_HEADER,
  LEASE_HEADER,
  REPLICATION_LAG_HEADER,
  type RegionName,
  type ServiceName,
} from '@failover-lab/contracts';
import type { FastifyRequest } from 'fastify';
import type pg from 'pg';
import { assertBeforeDeadline, bindLease } from './deadline';
import type { ErrorTable } from './errors';
import { FENCE_SETTING, parseFenceEpoch } from './fence';

export class CellState {
  epoch = 0;
  fenced = false;
  /** the fence epoch in the data directory (fence.ts), as last read */
  fenceEpoch: number | null = null;
  /**
   * A promotion lifted every fence up to this epoch. A reload (pg_reload_conf) reaches the pool's
   * sessions a moment later: a marker still read just after the promotion must not fence again.
   */
  private fencesLiftedUpTo = -1;
  /** null until the first successful refresh */
  inRecovery: boolean | null = null;
  replicationLagBytes: number | null = null;
  lastRefreshOk = false;
  /**
   * The router's lease (docs/fencing.md, "The lease"): until when this primary may write without
   * hearing from the router again. null: none granted (no router, or not a primary at its epoch yet).
   */
  leaseUntil: number | null = null;
  /** when the lease last ran out and the cell fenced itself */
  selfFencedAt: number | null = null;
  /** records a self-fence in the data tier (set by the cell-role plugin: it holds the admin pool) */
  onLeaseExpired: ((epoch: number) => Promise<void>) | null = null;
  /**
   * The data-tier half of the last self-fence, until it has finished: a promotion waits for it, or its
   * REVOKE could land after the promotion's GRANT (or collide with it: "tuple concurrently updated").
   */
  selfFenceRecorded: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** fires at the lease's end (armExpiry), while started; null: not armed */
  private expiry: NodeJS.Timeout | null = null;
  private running = false;
  private inFlight: Promise<void> | undefined;

  constructor(
    readonly service: ServiceName,
    readonly region: RegionName,
    private readonly pool: pg.Pool,
    private readonly errors: ErrorTable,
  ) {}

  /** POST /admin/fence: fenced at once, whatever the data tier managed to record. */
  fence(epoch: number): void {
    this.fenced = true;
    this.fenceEpoch = Math.max(this.fenceEpoch ?? 0, epoch);
    this.fencesLiftedUpTo = -1;
  }

  /** A promotion at `epoch`: the fences up to it are lifted (the data tier's already were). */
  liftFence(epoch: number): void {
    this.fenced = false;
    this.fenceEpoch = null;
    this.fencesLiftedUpTo = epoch;
    // the promotion's own lease (grantPromotionLease) or the next probe's replaces any earlier one
    this.leaseUntil = null;
  }

  /**
   * A health probe from the router granting `leaseMs` at `epoch`: the lease now runs to the probe's
   * deadline + `leaseMs`, whenever the probe is read. That is exactly the bound the router keeps for
   * every probe it sent (docs/fencing.md, "The lease") and waits out before it promotes elsewhere, so
   * no renewal can outlast it, however late the probe arrives; a starved cell reading its probes past
   * their deadline keeps its lease as long as the router does. A probe read after that bound means
   * the router may already have waited it out: a primary holding no later lease (just promoted) takes
   * it anyway, already over, and fences itself at the next check.
   * Only the unfenced primary at the router's epoch holds a lease: an old primary probed with a newer
   * epoch gets none, and fences itself when the one it had runs out.
   */
  renewLease(epoch: number, leaseMs: number, deadlineMs: number): boolean {
    if (epoch !== this.epoch || this.role() !== 'primary') return false;
    if (leaseMs <= 0) {
      this.leaseUntil = null;
      return false;
    }
    const until = deadlineMs + leaseMs;
    if (this.leaseUntil !== null && until <= this.leaseUntil) return false;
    this.leaseUntil = until;
    this.armExpiry();
    return true;
  }

  /**
   * Any request the router sent with a grant (a probe, or a proxied request: leaseGrantOf) renews the
   * lease by renewLease's rules. A primary flooded by requests thus renews from the very requests that
   * flood it, not only from the probes queued behind them.
   */
  renewLeaseFrom(headers: IncomingHttpHeaders): boolean {
    const grant = leaseGrantOf(headers);
    return grant !== null && this.renewLease(grant.epoch, grant.leaseMs, grant.deadlineMs);
  }

  /**
   * The lease a promotion carries (PromoteRequest.lease), taken at the moment the cell became primary
   * (`now`): until min(now, deadline) + leaseMs. The router counts deadline + leaseMs until the cell
   * answers and the moment of the answer + leaseMs after, both at least this, so a new primary is leased
   * from its first write on and never past what a failover from it waits out. A promotion finished after
   * its deadline (the router gave up on it) takes a lease that is already over: it fences itself, and
   * the router's claim promotes it again with a fresh one.
   */
  grantPromotionLease(leaseMs: number, deadlineMs: number, now = Date.now()): void {
    if (this.role() !== 'primary' || leaseMs <= 0) return;
    this.leaseUntil = Math.min(now, deadlineMs) + leaseMs;
    this.armExpiry();
  }

  /**
   * A timer at the lease's end, so a primary cut off from the router fences itself (app and data tier)
   * as its lease runs out, not up to a role-refresh interval later: the router's failover waits only for
   * the bound it counted, and a promotion elsewhere may follow within milliseconds. One timer, not one
   * per renewal: when it fires on a lease renewed meanwhile it re-arms for the new end.
   */
  private armExpiry(): void {
    if (!this.running || this.expiry !== null || this.leaseUntil === null || this.fenced) return;
    this.expiry = setTimeout(() => this.onExpiry(), Math.max(0, this.leaseUntil - Date.now()) + 1);
    this.expiry.unref();
  }

  private onExpiry(): void {
    this.expiry = null;
    if (this.leaseUntil === null || this.fenced) return;
    if (Date.now() <= this.leaseUntil) this.armExpiry();
    else void this.checkLeaseAfterPendingIo().then(() => this.armExpiry());
  }

  /**
   * Fences the cell when its lease has run out: at once in memory (the next write is refused), and in
   * the data tier through onLeaseExpired (grants and marker, like the router's fence). True if it did.
   */
  checkLease(now = Date.now()): boolean {
    if (this.leaseUntil === null || now <= this.leaseUntil || this.fenced) return false;
    this.leaseUntil = null;
    this.fence(this.epoch);
    this.selfFencedAt = now;
    this.selfFenceRecorded = (this.onLeaseExpired?.(this.epoch) ?? Promise.resolve()).catch(() => {});
    return true;
  }

  role(): CellRole {
    if (this.fenced) return 'fenced';
    return this.inRecovery === false ? 'primary' : 'standby';
  }

  /** Re-reads recovery state, lag and the stored epoch. Concurrent callers share one query. */
  refresh(): Promise<void> {
    if (!this.inFlight) {
      this.inFlight = this.readFromPostgres().finally(() => {
        this.inFlight = undefined;
      });
    }
    return this.inFlight;
  }

  private async readFromPostgres(): Promise<void> {
    try {
      const { rows } = await this.pool.query<{
        in_recovery: boolean;
        lag: string | null;
        fence_epoch: string | null;
      }>(
        `SELECT pg_is_in_recovery() AS in_recovery,
                CASE WHEN pg_is_in_recovery()
                     THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) END AS lag,
                current_setting('${FENCE_SETTING}', true) AS fence_epoch`,
      );
      this.inRecovery = rows[0]!.in_recovery;
      this.replicationLagBytes = rows[0]!.lag === null ? null : Math.max(0, Number(rows[0]!.lag));
      const epoch = await this.pool.query<{ epoch: string }>('SELECT epoch FROM cell_state WHERE id = 1');
      // The table replicates to the standby, so a standby follows its primary's epoch.
      if (epoch.rows[0]) this.epoch = Number(epoch.rows[0].epoch);
      // A fence in the data directory fences the app too, so a restarted app starts fenced. Only a
      // promotion (which resets the marker) unfences: a refresh never does.
      this.fenceEpoch = parseFenceEpoch(rows[0]!.fence_epoch);
      if (
        this.fenceEpoch !== null &&
        this.fenceEpoch >= this.epoch &&
        this.fenceEpoch > this.fencesLiftedUpTo
      ) {
        this.fenced = true;
      }
      this.lastRefreshOk = true;
    } catch {
      // Unreachable (or cell_state not replicated yet): keep the last known role; readiness reports it.
      this.lastRefreshOk = false;
    }
  }

  /** Who answered: every response carries them, and a standby's reads say how far behind it is. */
  responseHeaders(method: string): Record<string, string> {
    const role = this.role();
    const headers: Record<string, string> = { [CELL_REGION_HEADER]: this.region, [CELL_ROLE_HEADER]: role };
    if (role === 'standby' && method === 'GET' && this.replicationLagBytes !== null) {
      headers[REPLICATION_LAG_HEADER] = String(this.replicationLagBytes);
    }
    return headers;
  }

  /**
   * checkLease, once the I/O already waiting has been read. After a stall (a starved machine, a
   * thawed process) timers run before the sockets are read, and the requests queued there meanwhile
   * may carry grants the router sent in time: read first, they renew the lease. Waiting costs no
   * safety: a write checks the lease itself (assertWritable) and its COMMIT is bound by it in Postgres.
   */
  checkLeaseAfterPendingIo(): Promise<boolean> {
    if (this.leaseUntil === null || Date.now() <= this.leaseUntil) return Promise.resolve(false);
    // setImmediate runs after the event loop's poll phase, which reads what waits in the sockets
    return new Promise((resolve) => setImmediate(() => resolve(this.checkLease())));
  }

  start(intervalMs = 250): void {
    this.running = true;
    this.armExpiry();
    this.timer = setInterval(() => {
      void this.checkLeaseAfterPendingIo();
      void this.refresh();
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    if (this.expiry) clearTimeout(this.expiry);
    this.expiry = null;
  }

  /**
   * Throws <SVC>_ERR_FENCED (503) unless this cell may take a write for this request:
   * not fenced, its Postgres not in recovery, and the request's epoch (if any) equal to ours.
   * Throws <SVC>_ERR_DEADLINE_EXCEEDED (503) when the request's x-request-deadline has passed: the
   * router has given up on it and may have sent it to another region (deadline.ts).
   */
  assertWritable(request: FastifyRequest): void {
    assertBeforeDeadline(request, this.errors);
    // a thawed process may serve a request before its timer notices the lease ran out
    this.checkLease();
    // and its COMMIT must not land after the lease either (the router's failover counts on it): a cell
    // fenced meanwhile (its lease ran out, or the router's fence came) commits nothing more
    bindLease(() => {
      this.checkLease();
      return this.fenced ? 0 : this.leaseUntil;
    });
    if (this.fenced) throw this.errors.make('FENCED', `cell ${this.region} is fenced`);
    if (this.inRecovery !== false) {
      throw this.errors.make('FENCED', `cell ${this.region} is a standby (Postgres in recovery)`);
    }
    const header = request.headers[EPOCH_HEADER];
    if (header !== undefined) {
      const value = Array.isArray(header) ? header[0] : header;
      if (value !== String(this.epoch)) {
        throw this.errors.make('FENCED', `request epoch ${value} does not match cell epoch ${this.epoch}`);
      }
    }
  }
}

/**
 * The grant a request from the router carries: the epoch, the lease and the grant's deadline
 * (LEASE_DEADLINE_HEADER; a probe without it uses its own x-request-deadline, which is its grant's).
 * null when any is missing or malformed: a request without LEASE_HEADER grants nothing, whatever its
 * other headers say (a proxied request's x-request-deadline is far too late to count as a grant's).
 */
export function leaseGrantOf(
  headers: IncomingHttpHeaders,
): { epoch: number; leaseMs: number; deadlineMs: number } | null {
  const read = (name: string) => {
    const value = headers[name];
    return typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : null;
  };
  const leaseMs = read(LEASE_HEADER);
  if (leaseMs === null) return null;
  const epoch = read(EPOCH_HEADER);
  const deadlineMs =
    headers[LEASE_DEADLINE_HEADER] !== undefined ? read(LEASE_DEADLINE_HEADER) : read(DEADLINE_HEADER);
  if (epoch === null || deadlineMs === null) return null;
  return { epoch, leaseMs, deadlineMs };
}
