-- Messages. `seq` (bigserial) gives every message a stable total order; cursors are built from it.
-- `id` is the client-generated uuid that makes a retried POST idempotent.
CREATE TABLE messages (
  seq bigserial PRIMARY KEY,
  id uuid NOT NULL UNIQUE,
  room text NOT NULL,
  author text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_room_seq_idx ON messages (room, seq);
