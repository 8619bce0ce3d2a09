// The cell's view of itself (role, epoch, fencing; cell-state.ts) and its schema. At start it waits
// for its Postgres, applies migrations on a primary, then keeps the cached role fresh. Every response
// says which region and role answered.
import { fileURLToPath } from 'node:url';
import type { RegionName, ServiceName } from '@failover-lab/contracts';
import fp from 'fastify-plugin';
import type pg from 'pg';
import { CellState } from '../../cell-state';
import { applyMigrations, migrationNames, warmPool } from '../../db';
import type { ErrorTable } from '../../errors';
import { fenceDataTier } from '../../fence';

declare module 'fastify' {
  interface FastifyInstance {
    cell: CellState;
    /** the service's error table (the kit's handlers answer with its codes) */
    errors: ErrorTable;
    /**
     * applies the kit's and the service's migrations (idempotent, under an advisory lock): at start on
     * a primary, and after a promotion, so a standby running newer code than the primary it replaced
     * (a rolling deploy caught by a failover) does not serve without its schema
     */
    applyMigrations: (pool: pg.Pool) => Promise<string[]>;
    /** what schema_migrations holds once applyMigrations has nothing left to do */
    migrationNames: () => Promise<string[]>;
  }
}

export interface CellRoleOptions {
  service: ServiceName;
  region: RegionName;
  errors: ErrorTable;
  /** NNN_name.sql files, applied in order on the primary only, after the kit's own */
  migrationsDir: string;
  /** how often the cached role/epoch is re-read (default 250 ms) */
  roleRefreshMs?: number;
}

const KIT_MIGRATIONS = fileURLToPath(new URL('../../migrations', import.meta.url));
const POSTGRES_WAIT_MS = 10_000;
const POOL_WARM_MS = 1_000;

async function waitForPostgres(cell: CellState, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await cell.refresh();
    if (cell.lastRefreshOk || cell.inRecovery !== null) return;
    if (Date.now() > deadline) throw new Error(`Postgres for ${cell.service}/${cell.region} unreachable`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const cellRolePlugin = fp<CellRoleOptions>(
  async (app, opts) => {
    // The role refresh uses the health pool: a saturated app pool must not freeze the cached role.
    const cell = new CellState(opts.service, opts.region, app.healthPool, opts.errors);
    const migrationSets = [
      { namespace: 'kit', dir: KIT_MIGRATIONS },
      { namespace: opts.service, dir: opts.migrationsDir },
    ];
    // A lease that ran out fences the data tier as the router's fence does (the app already refuses).
    cell.onLeaseExpired = async (epoch) => {
      app.log.warn({ epoch }, 'lease expired without a probe from the router: fencing itself');
      const tier = await fenceDataTier(app.adminPool, epoch).catch((err: Error) => {
        app.log.error({ err, epoch }, 'self-fence: the data tier could not record it (the app is fenced)');
        return null;
      });
      if (tier) app.log.warn({ epoch, ...tier }, 'fenced itself');
    };
    app.decorate('cell', cell);
    app.decorate('errors', opts.errors);
    app.decorate('applyMigrations', (on: pg.Pool) => applyMigrations(on, migrationSets));
    app.decorate('migrationNames', () => migrationNames(migrationSets));
    app.addHook('onClose', async () => cell.stop());

    await waitForPostgres(cell, POSTGRES_WAIT_MS);
    if (cell.fenced) {
      // the data directory carries a fence (fence.ts): start fenced, write nothing, not even migrations
      app.log.warn({ fenceEpoch: cell.fenceEpoch, epoch: cell.epoch }, 'starting fenced');
    } else if (cell.inRecovery === false) {
      const applied = await app.applyMigrations(app.pg);
      if (applied.length > 0) app.log.info({ applied }, 'migrations applied');
      await cell.refresh();
    }
    cell.start(opts.roleRefreshMs ?? 250);
    // A standby keeps its app pool full, so a promotion finds every connection open (db.ts, warmPool),
    // and its admin pool too: the promotion's own statements would otherwise wait for new sessions (a
    // backend fork and a SCRAM exchange each, on a machine busy with the failover). Not while its
    // Postgres is unreachable (each try would fail), and a no-op once full.
    const warm = setInterval(() => {
      if (cell.lastRefreshOk && cell.role() === 'standby') {
        warmPool(app.pg);
        warmPool(app.adminPool);
      }
    }, POOL_WARM_MS);
    warm.unref();
    app.addHook('onClose', async () => clearInterval(warm));

    // Every request the router sent with a grant renews the lease, probes and proxied requests alike,
    // the moment it is read (docs/fencing.md, "The lease").
    app.addHook('onRequest', (request, _reply, done) => {
      cell.renewLeaseFrom(request.headers);
      done();
    });

    app.addHook('onSend', async (request, reply) => {
      reply.headers(cell.responseHeaders(request.method));
    });
  },
  { name: 'cell-role', dependencies: ['cell-postgres'] },
);
