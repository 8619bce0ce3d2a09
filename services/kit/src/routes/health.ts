// /health/live and /health/ready (docs/contracts.md, "Cell HTTP surface"). /admin/state reuses
// readiness(). Health queries use their own small pool so a saturated app pool cannot make a
// healthy cell look dead, and every check is bounded by a timeout (a frozen Postgres never answers).
import type { CellReadiness, CheckResult, StandbyView } from '@failover-lab/contracts';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { CellState } from '../cell-state';

const CHECK_TIMEOUT_MS = 1_000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

interface PgFacts {
  inRecovery: boolean;
  walLsn: string | null;
  lag: number | null;
  syncNames: string;
  standbys: StandbyView[];
  syncWaitMs: number | null;
}

async function readPostgres(pool: pg.Pool): Promise<PgFacts> {
  const { rows } = await pool.query<{
    in_recovery: boolean;
    wal_lsn: string | null;
    lag: string | null;
    sync_names: string;
  }>(
    `SELECT pg_is_in_recovery() AS in_recovery,
            (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS wal_lsn,
            CASE WHEN pg_is_in_recovery()
                 THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) END AS lag,
            current_setting('synchronous_standby_names') AS sync_names`,
  );
  const row = rows[0]!;
  let standbys: StandbyView[] = [];
  let syncWaitMs: number | null = null;
  if (!row.in_recovery) {
    const rep = await pool.query<{
      name: string;
      state: string;
      sync_state: string;
      lag: string | null;
      reply_age_ms: number | null;
      flush_lsn: string | null;
    }>(
      `SELECT application_name AS name, state, sync_state,
              pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS lag,
              (extract(epoch FROM clock_timestamp() - reply_time) * 1000)::float8 AS reply_age_ms,
              flush_lsn::text AS flush_lsn
         FROM pg_stat_replication ORDER BY application_name`,
    );
    standbys = rep.rows.map((r) => ({
      name: r.name,
      state: r.state,
      syncState: r.sync_state,
      lagBytes: r.lag === null ? null : Number(r.lag),
      replyAgeMs: r.reply_age_ms === null ? null : Math.max(0, Math.round(r.reply_age_ms)),
      flushLsn: r.flush_lsn,
    }));
    // Commits waiting for the synchronous standby (seen through pg_monitor): the one signal that is
    // certain to rise when its WAL receiver is gone or cut off, however the walsender row looks.
    const waits = await pool.query<{ ms: number | null }>(
      `SELECT (extract(epoch FROM clock_timestamp() - min(query_start)) * 1000)::float8 AS ms
         FROM pg_stat_activity WHERE wait_event = 'SyncRep'`,
    );
    const ms = waits.rows[0]?.ms;
    syncWaitMs = ms === null || ms === undefined ? null : Math.max(0, Math.round(ms));
  }
  return {
    inRecovery: row.in_recovery,
    walLsn: row.wal_lsn,
    lag: row.lag === null ? null : Math.max(0, Number(row.lag)),
    syncNames: row.sync_names,
    standbys,
    syncWaitMs,
  };
}

export async function readiness(cell: CellState, healthPool: pg.Pool, redis: Redis): Promise<CellReadiness> {
  const timed = async <T>(fn: () => Promise<T>, what: string) => {
    const started = performance.now();
    try {
      const value = await withTimeout(fn(), CHECK_TIMEOUT_MS, what);
      return { value, check: { ok: true, ms: Math.round(performance.now() - started) } as CheckResult };
    } catch (err) {
      const check: CheckResult = {
        ok: false,
        ms: Math.round(performance.now() - started),
        error: (err as Error).message || String(err),
      };
      return { value: undefined, check };
    }
  };
  const [pgResult, redisResult] = await Promise.all([
    timed(() => readPostgres(healthPool), 'postgres'),
    timed(() => redis.ping(), 'redis'),
  ]);
  const facts = pgResult.value;
  if (facts) {
    // Readiness is fresher than the 250 ms cache: let it correct the cached role.
    cell.inRecovery = facts.inRecovery;
    cell.replicationLagBytes = facts.lag;
  }
  const ready = pgResult.check.ok && redisResult.check.ok;
  return {
    status: ready ? 'ready' : 'not_ready',
    service: cell.service,
    region: cell.region,
    role: cell.role(),
    epoch: cell.epoch,
    fenced: cell.fenced,
    inRecovery: facts ? facts.inRecovery : cell.inRecovery,
    walLsn: facts?.walLsn ?? null,
    replicationLagBytes: facts?.inRecovery ? facts.lag : null,
    standbys: facts?.standbys ?? [],
    synchronousStandbyNames: facts ? facts.syncNames : null,
    syncWaitMs: facts?.syncWaitMs ?? null,
    checks: { postgres: pgResult.check, redis: redisResult.check },
    ...(cell.leaseUntil !== null ? { leaseUntil: new Date(cell.leaseUntil).toISOString() } : {}),
    ...(cell.selfFencedAt !== null ? { selfFencedAt: new Date(cell.selfFencedAt).toISOString() } : {}),
  };
}

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/health/live', async () => ({ status: 'live' }));
  // A probe's lease grant is read by the cell-role plugin's onRequest hook, like any request's.
  app.get('/health/ready', async (_request, reply) => {
    const body = await readiness(app.cell, app.healthPool, app.redis);
    return reply.code(body.status === 'ready' ? 200 : 503).send(body);
  });
}
