// Unread counts, active-active (docs/active-active.md): from Postgres, so both regions agree once they
// have exchanged rows. Redis counters (unread.ts) are per cell and would diverge between regions.
import type { CellConfig } from '@failover-lab/cell-kit';
import type { PoolClient } from 'pg';

type Db = Pick<PoolClient, 'query'>;

/** Marks everything in the room so far as read by `reader`, in this region's origin table. */
export async function markRoomReadActiveActive(
  db: Db,
  room: string,
  reader: string,
  origin: CellConfig['region'],
): Promise<void> {
  // The table name comes from the closed list of regions, never from the request.
  const table = origin === 'dc-a' ? 'read_markers_dc_a' : 'read_markers_dc_b';
  await db.query(
    `INSERT INTO ${table} (room, reader, read_seq)
     SELECT $1, $2, max(seq) FROM messages WHERE room = $1 HAVING max(seq) IS NOT NULL
     ON CONFLICT (room, reader) DO UPDATE SET read_seq = greatest(${table}.read_seq, EXCLUDED.read_seq)`,
    [room, reader],
  );
}

/** Messages of others in the room above the reader's marker (the maximum over both origins). */
export async function unreadCountActiveActive(db: Db, room: string, reader: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM messages
      WHERE room = $1 AND author <> $2
        AND seq > coalesce((SELECT max(read_seq) FROM read_markers WHERE room = $1 AND reader = $2), 0)`,
    [room, reader],
  );
  return rows[0]!.n;
}
