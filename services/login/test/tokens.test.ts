import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createAccessTokenSigner, hashRefreshToken, newRefreshToken } from '../src/tokens';

describe('access token signer', () => {
  it('signs an EdDSA JWT with kid and the contract claims', async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: 'k1' };
    const signer = await createAccessTokenSigner(JSON.stringify(jwk));
    const { token, jti } = await signer.sign({ sub: 'user-1', sid: 'family-1' });
    const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' }] });
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: 'failover-lab/login',
      audience: 'failover-lab',
    });
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', kid: 'k1' });
    expect(payload).toMatchObject({ sub: 'user-1', sid: 'family-1', jti });
    expect(payload.exp! - payload.iat!).toBe(900);
  });

  it('refuses a key that is not an Ed25519 private JWK', async () => {
    await expect(createAccessTokenSigner('not json')).rejects.toThrow(/JSON/);
    await expect(
      createAccessTokenSigner(JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: 'abc' })),
    ).rejects.toThrow(/private JWK/);
  });
});

describe('refresh tokens', () => {
  it('are random and stored as a 32-byte hash', () => {
    const a = newRefreshToken();
    expect(a).not.toBe(newRefreshToken());
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hashRefreshToken(a)).toHaveLength(32);
    expect(hashRefreshToken(a).equals(hashRefreshToken(a))).toBe(true);
  });
});
