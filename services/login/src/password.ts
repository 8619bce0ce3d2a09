// Password hashing with node:crypto scrypt.
//
// Parameters (measured on the lab machine, 2 shared cores): N=2^15, r=8, p=1, 32-byte key, 16-byte salt
// costs ~110 ms of one core and 32 MiB of memory per hash. That is the OWASP-recommended floor for scrypt
// and still leaves a cell able to serve a few dozen sign-ins per second on 2 cores (see the README bench).
// The parameters are stored inside every hash, so raising them later only affects new hashes.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptParams {
  log2N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { log2N: 15, r: 8, p: 1 };

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.log2N;
  // scrypt needs 128*N*r bytes; the default maxmem (32 MiB) is exactly at the edge for N=2^15, r=8.
  const maxmem = 256 * N * params.r;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { N, r: params.r, p: params.p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** `scrypt$<log2N>$<r>$<p>$<salt b64url>$<key b64url>` */
export async function hashPassword(password: string, params = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, params);
  return [
    'scrypt',
    params.log2N,
    params.r,
    params.p,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$');
}

function parseHash(encoded: string): { params: ScryptParams; salt: Buffer; key: Buffer } | null {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [log2N, r, p] = parts.slice(1, 4).map(Number);
  if (![log2N, r, p].every((n) => Number.isInteger(n) && n! > 0)) return null;
  return {
    params: { log2N: log2N!, r: r!, p: p! },
    salt: Buffer.from(parts[4]!, 'base64url'),
    key: Buffer.from(parts[5]!, 'base64url'),
  };
}

/** Constant-time comparison of the derived key with the stored one. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (!parsed) return false;
  const candidate = await derive(password, parsed.salt, parsed.params);
  return candidate.length === parsed.key.length && timingSafeEqual(candidate, parsed.key);
}

/**
 * Sign-in for an unknown username must cost the same as for a known one, or response times tell an
 * attacker which usernames exist. We verify against a hash made once at start with the same parameters.
 */
export class DummyPasswordHash {
  private hash: Promise<string>;
  constructor(params = DEFAULT_SCRYPT_PARAMS) {
    this.hash = hashPassword(randomBytes(16).toString('hex'), params);
  }
  async burn(password: string): Promise<false> {
    await verifyPassword(password, await this.hash);
    return false;
  }
}
