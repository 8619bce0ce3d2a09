-- Accounts hold integer won; a CHECK makes a negative balance impossible even for a buggy handler.
CREATE TABLE accounts (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  owner text NOT NULL,
  balance bigint NOT NULL CHECK (balance >= 0),
  -- what seeding put in: balance = opening_balance + sum(ledger entries) is the per-account audit
  opening_balance bigint NOT NULL CHECK (opening_balance >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_owner_idx ON accounts (owner);

-- One row per idempotency key: the decision taken for it and the exact response sent, written in the
-- same transaction as the ledger rows, so a replay returns what the first attempt returned.
CREATE TABLE transfers (
  id bigserial PRIMARY KEY,
  idempotency_key text NOT NULL UNIQUE,
  request_hash text NOT NULL,
  caller text NOT NULL,
  from_account text NOT NULL REFERENCES accounts (id),
  to_account text NOT NULL REFERENCES accounts (id),
  amount bigint NOT NULL CHECK (amount > 0),
  outcome text NOT NULL CHECK (outcome IN ('completed', 'insufficient_funds')),
  status_code smallint NOT NULL,
  response jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Double entry: a completed transfer writes two rows that sum to zero.
CREATE TABLE ledger_entries (
  id bigserial PRIMARY KEY,
  transfer_id bigint NOT NULL REFERENCES transfers (id),
  account_id text NOT NULL REFERENCES accounts (id),
  amount bigint NOT NULL CHECK (amount <> 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id);
CREATE INDEX ledger_entries_transfer_idx ON ledger_entries (transfer_id);
