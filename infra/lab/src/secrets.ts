// Lab secrets, generated once per state dir and kept in a 0600 file. Never printed or logged:
// the CLI and the supervisor pass them to components through the environment only, and the
// control token stays between the supervisor and LabClient (both read it from this file).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

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
  /** bearer token of the supervisor's control API (docs/contracts.md "Lab supervisor") */
  controlToken: string;
  /** the Postgres superuser `postgres` (scram over the unix socket; the lab's own access) */
  postgresPassword: string;
  /** every Redis (requirepass) and its replication link (masterauth) */
  redisPassword: string;
}

// Hex keeps passwords safe to embed in SQL literals and connection strings without escaping.
const randomSecret = (bytes: number) => randomBytes(bytes).toString('hex');
const newControlToken = () => randomSecret(32);

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
    controlToken: newControlToken(),
    postgresPassword: randomSecret(16),
    redisPassword: randomSecret(16),
  };
}

/** Fields a file written by an older lab may lack, and how to make each. */
const ADDED_LATER: Record<'controlToken' | 'postgresPassword' | 'redisPassword', () => string> = {
  controlToken: newControlToken,
  postgresPassword: () => randomSecret(16),
  redisPassword: () => randomSecret(16),
};

const serialize = (secrets: LabSecrets) => `${JSON.stringify(secrets, null, 2)}\n`;

/**
 * Reads the state dir's secrets, creating them (mode 0600) the first time. A file written before a
 * field existed (controlToken, the data stores' own passwords) gets that field added; every other
 * value is kept as it was, since the data dirs' passwords and the issued tokens depend on them. (A
 * data dir made before the superuser had a password still trusts the socket: `lab down --wipe`.)
 */
export function loadOrCreateSecrets(file: string): LabSecrets {
  if (!existsSync(file)) {
    const secrets = generateSecrets();
    writeFileSync(file, serialize(secrets), { mode: 0o600, flag: 'wx' });
    return secrets;
  }
  const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<LabSecrets>;
  const missing = (Object.keys(ADDED_LATER) as (keyof typeof ADDED_LATER)[]).filter(
    (k) => typeof stored[k] !== 'string' || stored[k] === '',
  );
  if (missing.length === 0) return stored as LabSecrets;
  const upgraded = { ...stored } as LabSecrets;
  for (const k of missing) upgraded[k] = ADDED_LATER[k]();
  // Write beside it and rename: a reader never sees half a file, and the result is 0600 whatever
  // the old file's mode was.
  const temp = `${file}.${process.pid}.tmp`;
  rmSync(temp, { force: true }); // a leftover of a crash would keep its own mode
  writeFileSync(temp, serialize(upgraded), { mode: 0o600, flag: 'wx' });
  renameSync(temp, file);
  return upgraded;
}

/** The control token of a state dir's lab, or undefined when it has none (yet); never creates one. */
export function readControlToken(file: string): string | undefined {
  try {
    const { controlToken } = JSON.parse(readFileSync(file, 'utf8')) as Partial<LabSecrets>;
    return typeof controlToken === 'string' && controlToken !== '' ? controlToken : undefined;
  } catch {
    // missing or unreadable: the request goes without a token and the supervisor answers 401
    return undefined;
  }
}
