// Access tokens (Ed25519 JWT, verified by every cell with the public JWKS) and opaque refresh tokens
// (random, stored only as a SHA-256 hash so a database dump cannot be replayed).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { importJWK, type JWK, SignJWT } from 'jose';

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
export const TOKEN_ISSUER = 'failover-lab/login';
export const TOKEN_AUDIENCE = 'failover-lab';

export interface AccessTokenSigner {
  kid: string;
  sign(claims: { sub: string; sid: string }): Promise<{ token: string; jti: string; expiresAt: Date }>;
}

/** Builds a signer from the private Ed25519 JWK in JWT_SIGNING_KEY (the same key in both regions). */
export async function createAccessTokenSigner(privateJwkJson: string): Promise<AccessTokenSigner> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(privateJwkJson) as JWK;
  } catch {
    throw new Error('JWT_SIGNING_KEY must be a JSON Ed25519 private JWK');
  }
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.d || !jwk.kid) {
    throw new Error('JWT_SIGNING_KEY must be an Ed25519 private JWK (kty OKP, crv Ed25519, d, kid)');
  }
  const kid = jwk.kid;
  const key = await importJWK(jwk, 'EdDSA');
  return {
    kid,
    async sign({ sub, sid }) {
      const jti = randomUUID();
      const nowSeconds = Math.floor(Date.now() / 1000);
      const exp = nowSeconds + ACCESS_TOKEN_TTL_SECONDS;
      // `sid` (the refresh-token family) lets DELETE /login/sessions/current revoke the whole session.
      const token = await new SignJWT({ sid })
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
        .setSubject(sub)
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setIssuedAt(nowSeconds)
        .setExpirationTime(exp)
        .setJti(jti)
        .sign(key);
      return { token, jti, expiresAt: new Date(exp * 1000) };
    },
  };
}

export const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
