-- Messages, active-active (docs/active-active.md). PostgreSQL 15 has no `origin = none`, so two
-- subscriptions in opposite directions on one table would loop: each region writes only the table of
-- its own origin and publishes it, the other region subscribes to it, and `messages` (a view) is the
-- union. Both tables exist in both regions; only the lab (or compose) creates the subscriptions.
--
-- `seq` is a hybrid logical clock packed in a bigint, so one order holds in both regions and the
-- cursors and the stream (which page by seq) work unchanged:
--   (wall-clock ms << 13) | (counter << 1) | origin bit (dc-a 0, dc-b 1)
-- 12 bits of counter give 4096 messages per ms per region before the counter carries into the ms
-- (still strictly increasing: an HLC may run ahead of the wall clock, never behind its own past).
-- `id` is the client-generated uuid; it is unique per origin table, and a region checks the other
-- origin's replicated rows before inserting, so a retry in the other region finds the first write once
-- it has been replicated; before that, both rows exist (a conflict the drill counts).
CREATE TABLE messages_dc_a (
  seq bigint NOT NULL UNIQUE,
  id uuid PRIMARY KEY,
  room text NOT NULL,
  author text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- the same columns, keys and defaults (INCLUDING ALL copies the primary key and unique(seq))
CREATE TABLE messages_dc_b (LIKE messages_dc_a INCLUDING ALL);
CREATE INDEX messages_dc_a_room_seq_idx ON messages_dc_a (room, seq);
CREATE INDEX messages_dc_b_room_seq_idx ON messages_dc_b (room, seq);

CREATE VIEW messages AS
  SELECT seq, id, room, author, body, created_at, 'dc-a'::text AS origin FROM messages_dc_a
  UNION ALL
  SELECT seq, id, room, author, body, created_at, 'dc-b'::text AS origin FROM messages_dc_b;

-- The clock's last value in this region (one row; never replicated). Its row lock serializes the
-- region's inserts until commit, so seq also follows this region's commit order.
CREATE TABLE hlc_clock (
  id integer PRIMARY KEY CHECK (id = 1),
  last bigint NOT NULL
);
INSERT INTO hlc_clock VALUES (1, 0);

-- The next HLC value for a write of `origin_bit`: past the wall clock, past every value this region
-- issued, and past every value it has received from the other region (the receive rule of an HLC: a
-- reply written after a replicated message sorts after it, whatever the two wall clocks say).
CREATE FUNCTION next_hlc(origin_bit integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  wall bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint << 13;
  prev bigint;
  seen bigint;
  hlc bigint;
BEGIN
  SELECT last INTO prev FROM hlc_clock WHERE id = 1 FOR UPDATE;
  SELECT greatest(coalesce((SELECT max(seq) FROM messages_dc_a), 0),
                  coalesce((SELECT max(seq) FROM messages_dc_b), 0)) INTO seen;
  hlc := greatest(wall, ((greatest(prev, seen) >> 1) + 1) << 1) | origin_bit;
  UPDATE hlc_clock SET last = hlc WHERE id = 1;
  RETURN hlc;
END $$;

-- The subscriber's initial copy reads the published table as `replicator`.
GRANT SELECT ON messages_dc_a, messages_dc_b TO replicator;
CREATE PUBLICATION messages_dc_a FOR TABLE messages_dc_a;
CREATE PUBLICATION messages_dc_b FOR TABLE messages_dc_b;

-- Live delivery of the other region's messages: Redis pub/sub is per cell, so a row that arrives by
-- logical replication tells this cell's app (LISTEN messaging_replicated), which publishes it to its
-- own Redis like a message it took itself. ENABLE REPLICA: the trigger fires only in the apply worker
-- (session_replication_role = replica), never for this region's own inserts (already published). The
-- payload is the id only: a NOTIFY payload is limited to 8000 bytes, and an error here would stop the
-- apply worker, and with it the replication.
CREATE FUNCTION messages_replicated_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('messaging_replicated', NEW.id::text);
  RETURN NULL;
END $$;
CREATE TRIGGER messages_replicated_notify AFTER INSERT ON messages_dc_a
  FOR EACH ROW EXECUTE FUNCTION messages_replicated_notify();
CREATE TRIGGER messages_replicated_notify AFTER INSERT ON messages_dc_b
  FOR EACH ROW EXECUTE FUNCTION messages_replicated_notify();
ALTER TABLE messages_dc_a ENABLE REPLICA TRIGGER messages_replicated_notify;
ALTER TABLE messages_dc_b ENABLE REPLICA TRIGGER messages_replicated_notify;

-- Conflicts: the same client id written in both regions (a retry sent to the other region before the
-- first write had been replicated, typically around a region loss). Merge rule: the copy with the
-- lower HLC wins; the region whose copy lost moves it here and deletes it from its origin table (the
-- delete replicates), so both regions converge on one copy. Never silently dropped: every loser is
-- kept here with its own body (`same`: the two copies said the same thing). Local, not replicated.
CREATE TABLE message_conflicts (
  id uuid NOT NULL,
  loser_seq bigint NOT NULL,
  winner_seq bigint NOT NULL,
  room text NOT NULL,
  author text NOT NULL,
  body text NOT NULL,
  same boolean NOT NULL,
  resolved_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, loser_seq)
);

-- Read markers (unread counts), active-active: one table per origin like the messages, published the
-- same way. A marker is the highest seq a user has read in a room, and it only moves forward, so the
-- merge rule is the maximum over both origins (no update is lost: a later read in either region wins,
-- an earlier one never overwrites it). Unread = messages of others in the room above that maximum.
CREATE TABLE read_markers_dc_a (
  room text NOT NULL,
  reader text NOT NULL,
  read_seq bigint NOT NULL,
  PRIMARY KEY (room, reader)
);
CREATE TABLE read_markers_dc_b (LIKE read_markers_dc_a INCLUDING ALL);
CREATE VIEW read_markers AS
  SELECT room, reader, read_seq, 'dc-a'::text AS origin FROM read_markers_dc_a
  UNION ALL
  SELECT room, reader, read_seq, 'dc-b'::text AS origin FROM read_markers_dc_b;
GRANT SELECT ON read_markers_dc_a, read_markers_dc_b TO replicator;
ALTER PUBLICATION messages_dc_a ADD TABLE read_markers_dc_a;
ALTER PUBLICATION messages_dc_b ADD TABLE read_markers_dc_b;
