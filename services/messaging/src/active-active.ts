// The two background jobs of an active-active messaging cell (docs/active-active.md): live delivery of
// the messages the other region wrote (they arrive by logical replication, not through this app, so
// Postgres tells us: migrations-active-active/001_messages.sql, messages_replicated_notify), and the
// merge of cross-region duplicates (the same client id written in both regions: the lower HLC wins).
import type { CellConfig } from '@failover-lab/cell-kit';
import type { FastifyInstance } from 'fastify';
import type { PoolClient } from 'pg';
import * as repo from './repository';
import type { LiveMessage } from './room-hub';

const RECONNECT_MS = 1_000;
const RESOLVE_EVERY_MS = 2_000;

/**
 * LISTEN for replicated messages and hand each to `deliver` (which publishes it to this cell's Redis,
 * like a message posted here). A lost connection is re-made; messages replicated meanwhile are not
 * pushed live, and a client catches up with Last-Event-ID, as after any reconnect.
 */
export function startReplicatedDelivery(
  app: FastifyInstance,
  deliver: (message: LiveMessage) => Promise<void>,
  toLive: (row: repo.MessageRow) => LiveMessage,
): () => Promise<void> {
  let client: PoolClient | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const delivered = app.metrics.counter(
    'messaging_replicated_delivered_total',
    'Messages written in the other region and pushed live to this cell’s streams',
    [],
  );
  const onNotification = (msg: { channel: string; payload?: string }) => {
    if (msg.channel !== 'messaging_replicated' || !msg.payload) return;
    void repo
      .findMessage(app.pg, msg.payload)
      .then(async (row) => {
        if (!row) return; // merged away as a duplicate meanwhile
        await deliver(toLive(row));
        delivered.inc();
      })
      .catch((err: Error) => app.log.warn({ err: err.message }, 'replicated message not delivered live'));
  };
  const connect = async () => {
    if (stopped) return;
    try {
      const c = await app.pg.connect();
      c.on('notification', onNotification);
      c.on('error', () => retry(c));
      await c.query('LISTEN messaging_replicated');
      client = c;
    } catch (err) {
      app.log.warn({ err: (err as Error).message }, 'LISTEN messaging_replicated failed; retrying');
      schedule();
    }
  };
  const schedule = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, RECONNECT_MS);
    timer.unref();
  };
  const retry = (c: PoolClient) => {
    if (client === c) client = null;
    c.removeListener('notification', onNotification);
    c.release(true);
    schedule();
  };
  void connect();
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    const c = client;
    client = null;
    c?.release(true);
  };
}

/**
 * Every few seconds: this region's copies of messages the other region also holds with a lower HLC
 * move to message_conflicts and leave this region's origin table (the delete replicates). Runs in
 * both regions; each only ever deletes from its own origin table, which is all it may write.
 */
export function startConflictResolver(app: FastifyInstance, region: CellConfig['region']): () => void {
  const own = region === 'dc-a' ? 'messages_dc_a' : 'messages_dc_b';
  const other = region === 'dc-a' ? 'messages_dc_b' : 'messages_dc_a';
  const resolved = app.metrics.counter(
    'messaging_conflicts_resolved_total',
    'Cross-region duplicates of one client id merged (the copy with the lower HLC kept)',
    ['same'],
  );
  let running = false;
  const timer = setInterval(async () => {
    if (running || app.cell.role() !== 'primary') return; // a fenced cell may write nothing
    running = true;
    try {
      const { rows } = await app.pg.query<{ id: string; same: boolean }>(
        `WITH losers AS (
           DELETE FROM ${own} m USING ${other} o
            WHERE m.id = o.id AND o.seq < m.seq
           RETURNING m.id, m.seq AS loser_seq, o.seq AS winner_seq, m.room, m.author, m.body,
                     (m.room = o.room AND m.author = o.author AND m.body = o.body) AS same
         )
         INSERT INTO message_conflicts (id, loser_seq, winner_seq, room, author, body, same)
         SELECT id, loser_seq, winner_seq, room, author, body, same FROM losers
         ON CONFLICT DO NOTHING
         RETURNING id, same`,
      );
      for (const row of rows) {
        resolved.inc({ same: String(row.same) });
        app.log.warn({ id: row.id, same: row.same }, 'cross-region duplicate merged (lower HLC kept)');
      }
    } catch (err) {
      app.log.debug({ err: (err as Error).message }, 'conflict merge skipped');
    } finally {
      running = false;
    }
  }, RESOLVE_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
