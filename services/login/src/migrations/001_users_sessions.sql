-- Users, refresh-token families and revoked access tokens. Everything that must survive a failover
-- (who exists, which sessions are dead) lives here, replicated to the standby; Redis holds only rate limits.
CREATE TABLE users (
  id uuid PRIMARY KEY,
  username text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per issued refresh token. A family is one sign-in; each refresh rotates to a new row in the same
-- family. Presenting a token whose rotated_at is set means it was stolen or replayed: the family is revoked.
CREATE TABLE refresh_tokens (
  token_hash bytea PRIMARY KEY,
  family_id uuid NOT NULL,
  user_id uuid NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  rotated_at timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE session_families (
  family_id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  revoked_reason text
);

-- Access tokens revoked before their 15 minutes are up (sign-out). Rows can be purged after expires_at.
CREATE TABLE revoked_access_tokens (
  jti uuid PRIMARY KEY,
  user_id uuid NOT NULL,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz NOT NULL DEFAULT now()
);
