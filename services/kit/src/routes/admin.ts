// The cell admin API (docs/contracts.md, "Cell HTTP surface" → Admin). Every route needs the admin
// token; the service may add its own admin routes (payments: seed, audit) under the same guard.
import {
  type PromoteRequest,
  PromoteRequestSchema,
  type PromoteResponse,
  type PromotionSteps,
} from '@failover-lab/contracts';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type pg from 'pg';
import { Type } from 'typebox';
import { bearerToken, isAdminToken } from '../auth';
import { warmPool, withClient, withTransaction } from '../db';
import { adminErrors } from '../errors';
import {
  clearFenceMarker,
  FENCE_SETTING,
  fenceDataTier,
  GRANT_WRITES_SQL,
  grantWrites,
  parseFenceEpoch,
} from '../fence';
import { readiness } from './health';

const EpochBody = Type.Object({ epoch: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }) });
const SyncBody = Type.Object({
  standbys: Type.Array(Type.String({ pattern: '^[a-z0-9_-]{1,63}$' }), { maxItems: 8, uniqueItems: true }),
});

/** The synchronous_standby_names value for a list of application names ('' = async). */
export function synchronousStandbyNamesFor(standbys: string[]): string {
  return standbys.map((name) => `"${name}"`).join(', ');
}

export async function setSynchronousStandbys(pool: pg.Pool, standbys: string[]): Promise<string> {
  const value = synchronousStandbyNamesFor(standbys);
  await withClient(pool, async (client) => {
    // ALTER SYSTEM takes no bind parameters; the names are pattern-checked and the literal escaped.
    await client.query(`ALTER SYSTEM SET synchronous_standby_names = ${client.escapeLiteral(value)}`);
    await client.query('SELECT pg_reload_conf()');
  });
  return value;
}

interface NodeForPromotion {
  inRecovery: boolean;
  /** the epoch in cell_state (0 before the first promotion) */
  epoch: number;
  /** the fence epoch in the data directory (fence.ts), or null */
  fenceEpoch: number | null;
  /** what schema_migrations records; null when it cannot be read (a fresh database) */
  migrations: Set<string> | null;
  /** synchronous_standby_names ('' on a lab standby: infra/lab writes its postgresql.auto.conf) */
  syncNames: string;
}

/**
 * Everything a promotion checks before it changes anything, in one round trip: recovery, the stored
 * epoch, the fence marker, the migrations recorded and the sync names (the cached role and epoch may be
 * 250 ms old, and a stale promotion must be refused on what the node holds now).
 */
async function readNodeForPromotion(pool: pg.Pool): Promise<NodeForPromotion> {
  const { rows } = await pool.query<{
    in_recovery: boolean;
    epoch: string | null;
    fence_epoch: string | null;
    migrations: string[] | null;
    sync_names: string;
  }>(
    `SELECT pg_is_in_recovery() AS in_recovery,
            current_setting('synchronous_standby_names') AS sync_names,
            (SELECT epoch FROM cell_state WHERE id = 1) AS epoch,
            current_setting('${FENCE_SETTING}', true) AS fence_epoch,
            CASE WHEN to_regclass('schema_migrations') IS NOT NULL
                 THEN (SELECT coalesce(array_agg(name), '{}') FROM schema_migrations) END AS migrations`,
  );
  const row = rows[0]!;
  return {
    inRecovery: row.in_recovery,
    epoch: Number(row.epoch ?? 0),
    fenceEpoch: parseFenceEpoch(row.fence_epoch),
    migrations: row.migrations === null ? null : new Set(row.migrations),
    syncNames: row.sync_names,
  };
}

/**
 * The write grants back and the epoch row, one transaction and so one WAL flush: an epoch below the
 * stored one (a newer promotion got here first) rolls both back. `epoch` is a schema-checked integer,
 * inlined so the whole transaction but its COMMIT is one round trip (simple protocol).
 */
async function commitPromotion(pool: pg.Pool, epoch: number): Promise<number> {
  return withTransaction(pool, { synchronousCommit: 'local' }, async (client) => {
    const results = (await client.query(
      `${GRANT_WRITES_SQL};
       INSERT INTO cell_state (id, epoch, promoted_at) VALUES (1, ${epoch}, now())
       ON CONFLICT (id) DO UPDATE SET epoch = EXCLUDED.epoch,
         promoted_at = CASE WHEN cell_state.epoch = EXCLUDED.epoch THEN cell_state.promoted_at ELSE now() END
       WHERE cell_state.epoch <= EXCLUDED.epoch
       RETURNING epoch`,
    )) as unknown as pg.QueryResult<{ epoch: string }>[];
    const stored = results.at(-1)!.rows[0];
    if (!stored) {
      const { rows } = await client.query<{ epoch: string }>('SELECT epoch FROM cell_state WHERE id = 1');
      throw adminErrors.make('STALE_EPOCH', `epoch ${epoch} < stored epoch ${rows[0]?.epoch}`);
    }
    return Number(stored.epoch);
  });
}

/** how often a promotion looks whether the standby has left recovery */
const PROMOTE_POLL_MS = 5;
const PROMOTE_TIMEOUT_MS = 10_000;

/**
 * pg_promote(true, …) looks for the end of recovery only every 100 ms (PostgreSQL's WAITS_PER_SECOND),
 * while a standby whose primary is gone leaves recovery in a few ms once signalled: signal without
 * waiting, then ask pg_is_in_recovery() at a finer step (docs/facts.md, "Promotion after the primary died").
 */
async function promoteAndWait(app: FastifyInstance): Promise<void> {
  const signalled = await app.adminPool.query<{ ok: boolean }>('SELECT pg_promote(false) AS ok');
  if (!signalled.rows[0]!.ok) throw adminErrors.make('PROMOTE_FAILED', 'pg_promote could not signal');
  const until = performance.now() + PROMOTE_TIMEOUT_MS;
  for (;;) {
    const { rows } = await app.adminPool.query<{ in_recovery: boolean }>(
      'SELECT pg_is_in_recovery() AS in_recovery',
    );
    if (!rows[0]!.in_recovery) return;
    if (performance.now() > until)
      throw adminErrors.make('PROMOTE_FAILED', `pg_promote did not finish in ${PROMOTE_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, PROMOTE_POLL_MS));
  }
}

/** The kit's admin routes, and the service's own (`extraRoutes`) behind the same token check. */
export function adminRoutes(extraRoutes?: FastifyPluginAsync): FastifyPluginAsync {
  return async (app) => {
    app.addHook('onRequest', async (request) => {
      if (!isAdminToken(bearerToken(request), app.config.adminToken)) {
        throw adminErrors.make('UNAUTHORIZED', 'admin token required');
      }
    });

    app.get('/admin/state', async () => readiness(app.cell, app.healthPool, app.redis));

    app.post('/admin/promote', { schema: { body: PromoteRequestSchema } }, async (request) => {
      const { epoch, lease } = request.body as PromoteRequest;
      const cell = app.cell;
      const started = performance.now();
      const steps: PromotionSteps = {};
      const timed = async <T>(step: keyof PromotionSteps, work: () => Promise<T>): Promise<T> => {
        const t0 = performance.now();
        try {
          return await work();
        } finally {
          steps[step] = Math.round(performance.now() - t0);
        }
      };
      // normally already full (the cell keeps a standby's pools open: cell-role.ts); refilled if not
      warmPool(app.pg);
      const [node, wanted] = await Promise.all([
        timed('checkMs', () => readNodeForPromotion(app.adminPool)),
        app.migrationNames(),
      ]);
      if (epoch < node.epoch) {
        throw adminErrors.make('STALE_EPOCH', `epoch ${epoch} < stored epoch ${node.epoch}`);
      }
      // A node fenced at a newer epoch than this promotion must stay fenced: someone newer is primary.
      if (node.fenceEpoch !== null && epoch < node.fenceEpoch) {
        throw adminErrors.make('STALE_EPOCH', `epoch ${epoch} < this node's fence epoch ${node.fenceEpoch}`);
      }
      // Normally none (the schema came by replication, and a standby's record only grows): a standby
      // that runs newer code than the primary it replaces applies its own below, before its epoch row.
      const migrationsPending =
        node.migrations === null || wanted.some((name) => !node.migrations!.has(name));
      await cell.selfFenceRecorded;
      // Redis beside Postgres: REPLICAOF NO ONE takes milliseconds and nothing in the Postgres path
      // waits for it, so the promotion costs the longer of the two, not their sum.
      const redisPromotion = timed('redisMs', async () => {
        try {
          await app.redis.call('REPLICAOF', 'NO', 'ONE');
          return 'primary';
        } catch (err) {
          // Redis holds nothing money depends on (docs/architecture.md); readiness will show it unhealthy.
          request.log.warn({ err }, 'REPLICAOF NO ONE failed during promote');
          return `failed: ${(err as Error).message}`;
        }
      });
      const wasStandby = node.inRecovery;
      if (wasStandby) await timed('pgPromoteMs', () => promoteAndWait(app));
      // Its old partner is presumed gone: a sync commit waiting for it would hang forever
      // (docs/facts.md, "A synchronous commit without its standby"). A standby normally has none (the
      // lab writes a standby's postgresql.auto.conf without it: infra/lab followPrimary), which spares
      // the promotion a file write, its fsyncs and a config reload in every backend; else beside the
      // commit below (the admin pool holds a connection for each; that commit is local, so it never
      // waits on a standby): the app cannot write before this answers and the router routes here.
      const syncOff =
        wasStandby && node.syncNames !== ''
          ? timed('syncOffMs', () => setSynchronousStandbys(app.adminPool, []))
          : Promise.resolve('');
      const [, stored] = await Promise.all([
        syncOff,
        (async () => {
          if (migrationsPending) {
            // the writes back first (a fence, here or replicated from the old primary, revoked them)
            await timed('migrationsMs', async () => {
              await grantWrites(app.adminPool);
              const migrated = await app.applyMigrations(app.adminPool);
              if (migrated.length > 0)
                request.log.info({ applied: migrated }, 'migrations applied on promotion');
            });
          }
          // The write privileges back and the epoch row in one commit (docs/fencing.md, "A durable
          // fence": each commit waits for its own WAL flush); refused as stale, neither happens.
          const stored = await timed('writableMs', () => commitPromotion(app.adminPool, epoch));
          // then the marker, as fence.ts orders it; a node that was never fenced has none
          if (node.fenceEpoch !== null) await timed('markerMs', () => clearFenceMarker(app.adminPool));
          return stored;
        })(),
      ]);
      const redis = await redisPromotion;
      cell.epoch = stored;
      cell.liftFence(stored);
      cell.inRecovery = false;
      // Leased from this moment: cut off from the router before its first probe, it still fences itself.
      if (lease) cell.grantPromotionLease(lease.ms, lease.deadline);
      const promoteMs = Math.round(performance.now() - started);
      request.log.info({ epoch: stored, wasStandby, promoteMs }, 'promoted');
      const response: PromoteResponse = {
        role: cell.role(),
        epoch: stored,
        promoteMs,
        wasStandby,
        redis,
        steps,
      };
      return response;
    });

    app.post('/admin/fence', { schema: { body: EpochBody } }, async (request) => {
      const { epoch } = request.body as { epoch: number };
      const cell = app.cell;
      await cell.refresh();
      // A fence older than the cell's own epoch comes from a controller that has not seen the newer
      // promotion: obeying it could fence the one true primary.
      if (epoch < cell.epoch) {
        throw adminErrors.make('STALE_EPOCH', `fence epoch ${epoch} < stored epoch ${cell.epoch}`);
      }
      cell.fence(epoch);
      // The app refuses writes from now on whatever happens next; the data tier makes it outlive us.
      const tier = await fenceDataTier(app.adminPool, epoch).catch((err: Error) => {
        request.log.error({ err, epoch }, 'fence: the data tier could not record it (the app is fenced)');
        return { marker: false, grantsRevoked: false, error: err.message };
      });
      request.log.warn({ epoch, cellEpoch: cell.epoch, ...tier }, 'fenced');
      return { fenced: true, epoch, ...tier };
    });

    app.post('/admin/sync', { schema: { body: SyncBody } }, async (request) => {
      const { standbys } = request.body as { standbys: string[] };
      const synchronousStandbyNames = await setSynchronousStandbys(app.adminPool, standbys);
      return { synchronousStandbyNames };
    });

    if (extraRoutes) await app.register(extraRoutes);
  };
}
