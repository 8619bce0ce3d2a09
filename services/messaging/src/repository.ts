// SQL for messages. Functions take a client so the caller decides the transaction.
import type { CellConfig } from '@failover-lab/cell-kit';
import type { PoolClient } from 'pg';

type Db = Pick<PoolClient, 'query'>;

export interface MessageRow {
  seq: string; // bigint arrives as a string from pg; never converted to a JS number
  id: string;
  room: string;
  author: string;
  body: string;
  created_at: Date;
}

const COLUMNS = 'seq, id, room, author, body, created_at';

/** Inserts the message, or returns the row already stored under that id (`created: false`). */
export async function insertMessageOnce(
  db: Db,
  message: { id: string; room: string; author: string; body: string },
): Promise<{ row: MessageRow; created: boolean }> {
  const inserted = await db.query<MessageRow>(
    `INSERT INTO messages (id, room, author, body) VALUES ($1, $2, $3, $4)
     ON CONFLICT (id) DO NOTHING RETURNING ${COLUMNS}`,
    [message.id, message.room, message.author, message.body],
  );
  if (inserted.rows[0]) return { row: inserted.rows[0], created: true };
  const existing = await findMessage(db, message.id);
  if (!existing) throw new Error(`message ${message.id} conflicted but is not visible`);
  return { row: existing, created: false };
}

/**
 * Active-active (migrations-active-active): the row goes into this region's own origin table with an
 * HLC seq. A retry of a message the other region already took is answered from its replicated copy;
 * one whose first write has not been replicated yet is stored twice (a conflict, counted by the drill,
 * and read back as the copy with the lower seq).
 */
export async function insertMessageOnceActiveActive(
  db: Db,
  message: { id: string; room: string; author: string; body: string },
  origin: CellConfig['region'],
): Promise<{ row: MessageRow; created: boolean }> {
  const replicated = await findMessage(db, message.id);
  if (replicated) return { row: replicated, created: false };
  // The table name comes from the closed list of regions, never from the request.
  const table = origin === 'dc-a' ? 'messages_dc_a' : 'messages_dc_b';
  const inserted = await db.query<MessageRow>(
    `INSERT INTO ${table} (seq, id, room, author, body) VALUES (next_hlc($5), $1, $2, $3, $4)
     ON CONFLICT (id) DO NOTHING RETURNING ${COLUMNS}`,
    [message.id, message.room, message.author, message.body, origin === 'dc-a' ? 0 : 1],
  );
  if (inserted.rows[0]) return { row: inserted.rows[0], created: true };
  const existing = await findMessage(db, message.id);
  if (!existing) throw new Error(`message ${message.id} conflicted but is not visible`);
  return { row: existing, created: false };
}

export async function findMessage(db: Db, id: string): Promise<MessageRow | null> {
  // ORDER BY: active-active may hold a message twice (one per origin); the first written wins
  const { rows } = await db.query<MessageRow>(
    `SELECT ${COLUMNS} FROM messages WHERE id = $1 ORDER BY seq LIMIT 1`,
    [id],
  );
  return rows[0] ?? null;
}

export async function listMessages(
  db: Db,
  room: string,
  afterSeq: string | null,
  limit: number,
): Promise<MessageRow[]> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${COLUMNS} FROM messages WHERE room = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    [room, afterSeq ?? '0', limit],
  );
  return rows;
}
