-- The cell's fencing token. One row; the epoch is written only by POST /admin/promote.
CREATE TABLE IF NOT EXISTS cell_state (
  id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  epoch bigint NOT NULL DEFAULT 0 CHECK (epoch >= 0),
  promoted_at timestamptz
);
INSERT INTO cell_state (id, epoch) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
