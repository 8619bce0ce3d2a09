// The cell's Postgres pools. Three, so one kind of work can never starve another of connections:
// the app's own, a small one for health checks (a busy app pool must not fail readiness), and one
// for the admin API (promote and sync must work while every app connection hangs in a synchronous
// commit waiting for a lost standby, which is exactly when the controller calls sync).
import fp from 'fastify-plugin';
import type pg from 'pg';
import { createPool } from '../../db';

declare module 'fastify' {
  interface FastifyInstance {
    pg: pg.Pool;
    healthPool: pg.Pool;
    adminPool: pg.Pool;
  }
}

export interface PostgresOptions {
  databaseUrl: string;
  /** app pool size (default 10) */
  poolMax?: number;
}

export const postgresPlugin = fp<PostgresOptions>(
  async (app, { databaseUrl, poolMax }) => {
    // kept open, not idled out: a standby fills it ahead of a failover (cell-role.ts, warmPool)
    const pool = createPool(databaseUrl, { max: poolMax ?? 10, idleTimeoutMs: 0 });
    const healthPool = createPool(databaseUrl, { max: 2, statementTimeoutMs: 1_000 });
    // pg_promote(true, 10) may legitimately take 10 s; kept open like the app pool (a standby fills it
    // ahead of its promotion: cell-role.ts)
    const adminPool = createPool(databaseUrl, { max: 2, statementTimeoutMs: 15_000, idleTimeoutMs: 0 });
    app.decorate('pg', pool);
    app.decorate('healthPool', healthPool);
    app.decorate('adminPool', adminPool);
    app.addHook('onClose', async () => {
      await Promise.allSettled([pool.end(), healthPool.end(), adminPool.end()]);
    });
  },
  { name: 'cell-postgres' },
);
