-- An idempotency key belongs to its caller: with one global namespace, another user could claim a
-- predictable key first and every later transfer with it would answer 422 (or, read back, leak).
ALTER TABLE transfers DROP CONSTRAINT transfers_idempotency_key_key;
ALTER TABLE transfers ADD CONSTRAINT transfers_caller_idempotency_key_key UNIQUE (caller, idempotency_key);
CREATE INDEX transfers_idempotency_key_idx ON transfers (idempotency_key);
