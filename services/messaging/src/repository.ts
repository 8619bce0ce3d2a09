// SQL for messages. Functions take a client so the caller decides the transaction.
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

export async function findMessage(db: Db, id: string): Promise<MessageRow | null> {
  const { rows } = await db.query<MessageRow>(`SELECT ${COLUMNS} FROM messages WHERE id = $1`, [id]);
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
