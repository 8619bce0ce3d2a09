// Access tokens (JWT, EdDSA only, kid from JWT_JWKS; docs/contracts.md "Tokens") and the admin token.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import type { CellConfig } from './config';

export const TOKEN_ISSUER = 'failover-lab/login';
export const TOKEN_AUDIENCE = 'failover-lab';

export interface TokenUser {
  sub: string;
  jti: string;
  /** expiry, unix seconds: what a long-lived response (an event stream) must not outlive */
  exp: number;
}

export type TokenVerifier = (token: string) => Promise<TokenUser>;

/** Rejects (throws) anything but an EdDSA token signed by a key of the set, for our iss/aud, unexpired. */
export function createTokenVerifier(jwks: CellConfig['jwks']): TokenVerifier {
  const keySet = createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
  return async (token) => {
    const { payload, protectedHeader } = await jwtVerify(token, keySet, {
      algorithms: ['EdDSA'],
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
      requiredClaims: ['sub', 'exp', 'jti'],
    });
    // Without a kid jose would try every key; the contract says tokens name their key.
    if (!protectedHeader.kid) throw new Error('token has no kid');
    const { sub, jti, exp } = payload as JWTPayload & { sub: string; jti: string; exp: number };
    if (typeof sub !== 'string' || sub === '' || typeof jti !== 'string') throw new Error('bad claims');
    return { sub, jti, exp };
  };
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer ([^\s]+)$/i.exec(header.trim());
  return match?.[1];
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Constant-time comparison (hashing first makes the lengths equal, so length leaks nothing). */
export function isAdminToken(candidate: string | undefined, adminToken: string): boolean {
  if (candidate === undefined) return false;
  return timingSafeEqual(digest(candidate), digest(adminToken));
}
