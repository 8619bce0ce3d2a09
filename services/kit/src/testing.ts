// Helpers for the "every error code is in the table and documented" tests each service writes.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RegionName, ServiceName } from '@failover-lab/contracts';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from './auth';
import type { CellConfig } from './config';
import type { ErrorTable } from './errors';

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/**
 * Every error code a source tree uses: literal `<PREFIX>_ERR_<NAME>` strings and `x.make(<name>)` /
 * `x.codeOf(<name>)` calls (quoted names), which resolve against `prefix` unless the receiver is named in
 * `receivers` (default: `adminErrors` → ADMIN).
 */
export async function errorCodesInSource(
  dir: string,
  prefix: string,
  receivers: Record<string, string> = { adminErrors: 'ADMIN' },
): Promise<Set<string>> {
  const codes = new Set<string>();
  for (const file of await sourceFiles(dir)) {
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(/\b([A-Z]+_ERR_[A-Z0-9_]+)\b/g)) codes.add(m[1]!);
    for (const m of text.matchAll(/(\w+)\.(?:make|codeOf)\(\s*'([A-Z0-9_]+)'/g)) {
      codes.add(`${receivers[m[1]!] ?? prefix}_ERR_${m[2]}`);
    }
  }
  return codes;
}

/** Codes of the table that the README text does not mention. */
export function undocumentedCodes(table: ErrorTable, readme: string): string[] {
  return table.list.map((e) => e.code).filter((code) => !readme.includes(code));
}

// ---- test fixtures shared by the services' tests --------------------------------------------

export interface TestSigner {
  kid: string;
  jwks: CellConfig['jwks'];
  privateJwk: JWK;
  /** a valid access token for `sub`; override any claim or header to forge bad ones */
  sign(
    sub: string,
    overrides?: { iss?: string; aud?: string; expiresIn?: string | number; kid?: string | null },
  ): Promise<string>;
}

export async function createTestSigner(
  kid = `test-${Math.random().toString(36).slice(2, 8)}`,
): Promise<TestSigner> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' };
  return {
    kid,
    jwks: { keys: [publicJwk as CellConfig['jwks']['keys'][number]] },
    privateJwk,
    async sign(sub, o = {}) {
      const header: { alg: string; kid?: string } = { alg: 'EdDSA' };
      if (o.kid !== null) header.kid = o.kid ?? kid;
      return new SignJWT({})
        .setProtectedHeader(header)
        .setSubject(sub)
        .setIssuer(o.iss ?? TOKEN_ISSUER)
        .setAudience(o.aud ?? TOKEN_AUDIENCE)
        .setIssuedAt()
        .setJti(crypto.randomUUID())
        .setExpirationTime(o.expiresIn ?? '15m')
        .sign(privateKey);
    },
  };
}

/** Where a test cell's data stores are: a data tier's primary or standby (CellStores from the lab). */
export interface TestCellStores {
  region: RegionName;
  host: string;
  databaseUrl: string;
  redisUrl: string;
}

/** A CellConfig for tests, from a data tier's stores (no env needed); other fields override. */
export function testCellConfig(values: {
  service: ServiceName;
  stores: TestCellStores;
  adminToken: string;
  jwks: CellConfig['jwks'];
  redisUrl?: string;
  port?: number;
  logLevel?: string;
}): CellConfig {
  const { stores, ...rest } = values;
  return {
    port: 0,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
    region: stores.region,
    host: stores.host,
    databaseUrl: stores.databaseUrl,
    redisUrl: stores.redisUrl,
    ...rest,
  };
}
