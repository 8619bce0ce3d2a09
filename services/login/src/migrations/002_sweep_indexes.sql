-- The expired-row sweeper (src/sweeper.ts) deletes in small batches, oldest first. Without these indexes
-- every batch would scan the whole table, so a big backlog would cost (rows / batch) full scans.
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);
CREATE INDEX revoked_access_tokens_expires_at_idx ON revoked_access_tokens (expires_at);
CREATE INDEX session_families_created_at_idx ON session_families (created_at);
