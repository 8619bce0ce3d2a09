// Lab secrets, generated once per state dir and kept in a 0600 file. Never printed or logged:
// the CLI and the supervisor pass them to components through the environment only.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export interface Jwk {
  kty: string;
  crv: string;
  x: string;
  d?: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

export interface LabSecrets {
  adminToken: string;
  appPassword: string;
  replicatorPassword: string;
  /** private Ed25519 JWK that login signs access tokens with */
  jwtSigningKey: Jwk;
  /** {"keys":[public JWK]} every cell verifies tokens with */
  jwks: { keys: Jwk[] };
}

// Hex keeps passwords safe to embed in SQL literals and connection strings without escaping.
const randomSecret = (bytes: number) => randomBytes(bytes).toString('hex');

export function generateSecrets(): LabSecrets {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const kid = `lab-${randomSecret(4)}`;
  const pub = publicKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string };
  const priv = privateKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string; d: string };
  const publicJwk: Jwk = { kty: pub.kty, crv: pub.crv, x: pub.x, kid, alg: 'EdDSA', use: 'sig' };
  return {
    adminToken: randomSecret(24),
    appPassword: randomSecret(16),
    replicatorPassword: randomSecret(16),
    jwtSigningKey: { ...publicJwk, d: priv.d },
    jwks: { keys: [publicJwk] },
  };
}

/** Reads the state dir's secrets, creating them (mode 0600) the first time. */
export function loadOrCreateSecrets(file: string): LabSecrets {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as LabSecrets;
  const secrets = generateSecrets();
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return secrets;
}
