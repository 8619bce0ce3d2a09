// SQL for users and sessions. Every function takes a client so callers decide the transaction.
import type { PoolClient } from 'pg';

type Db = Pick<PoolClient, 'query'>;

export interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  created_at: Date;
}

/** Returns null when the username is taken (unique violation handled by ON CONFLICT, no exception). */
export async function insertUser(
  db: Db,
  user: { id: string; username: string; passwordHash: string },
): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>(
    `INSERT INTO users (id, username, password_hash) VALUES ($1, $2, $3)
     ON CONFLICT (username) DO NOTHING RETURNING id, username, password_hash, created_at`,
    [user.id, user.username, user.passwordHash],
  );
  return rows[0] ?? null;
}

export async function findUserByUsername(db: Db, username: string): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>(
    'SELECT id, username, password_hash, created_at FROM users WHERE username = $1',
    [username],
  );
  return rows[0] ?? null;
}

export async function findUserById(db: Db, id: string): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>(
    'SELECT id, username, password_hash, created_at FROM users WHERE id = $1',
    [id],
  );
  return rows[0] ?? null;
}

export async function insertSessionFamily(db: Db, familyId: string, userId: string): Promise<void> {
  await db.query('INSERT INTO session_families (family_id, user_id) VALUES ($1, $2)', [familyId, userId]);
}

export async function insertRefreshToken(
  db: Db,
  token: { hash: Buffer; familyId: string; userId: string; expiresAt: Date },
): Promise<void> {
  await db.query(
    'INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at) VALUES ($1, $2, $3, $4)',
    [token.hash, token.familyId, token.userId, token.expiresAt],
  );
}

export interface RefreshTokenRow {
  family_id: string;
  user_id: string;
  expires_at: Date;
  rotated_at: Date | null;
  family_revoked_at: Date | null;
}

/** Locks the token row so two concurrent refreshes with the same token cannot both rotate it. */
export async function findRefreshTokenForUpdate(db: Db, hash: Buffer): Promise<RefreshTokenRow | null> {
  const { rows } = await db.query<RefreshTokenRow>(
    `SELECT t.family_id, t.user_id, t.expires_at, t.rotated_at, f.revoked_at AS family_revoked_at
       FROM refresh_tokens t JOIN session_families f USING (family_id)
      WHERE t.token_hash = $1
      FOR UPDATE OF t`,
    [hash],
  );
  return rows[0] ?? null;
}

export async function markRefreshTokenRotated(db: Db, hash: Buffer): Promise<void> {
  await db.query('UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = $1', [hash]);
}

export async function revokeSessionFamily(db: Db, familyId: string, reason: string): Promise<void> {
  await db.query(
    `UPDATE session_families SET revoked_at = now(), revoked_reason = $2
      WHERE family_id = $1 AND revoked_at IS NULL`,
    [familyId, reason],
  );
}

export async function revokeAccessToken(
  db: Db,
  token: { jti: string; userId: string; expiresAt: Date },
): Promise<void> {
  await db.query(
    `INSERT INTO revoked_access_tokens (jti, user_id, expires_at) VALUES ($1, $2, $3)
     ON CONFLICT (jti) DO NOTHING`,
    [token.jti, token.userId, token.expiresAt],
  );
}

/** True when the access token was revoked directly (sign-out) or through its session family (reuse). */
export async function isAccessTokenRevoked(db: Db, jti: string, familyId: string | null): Promise<boolean> {
  const { rows } = await db.query<{ revoked: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = $1)
         OR EXISTS (SELECT 1 FROM session_families WHERE family_id = $2 AND revoked_at IS NOT NULL)
         AS revoked`,
    [jti, familyId],
  );
  return rows[0]?.revoked ?? false;
}
