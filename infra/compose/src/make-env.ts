// Creates .lab/compose.env (git-ignored) with fresh random secrets and an Ed25519 signing key, for
// `docker-compose --env-file .lab/compose.env …`. Refuses to overwrite an existing file: rotating
// the passwords of initialised Postgres volumes would lock the apps out.
//   npx tsx infra/compose/src/make-env.ts [target]   (default .lab/compose.env)
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const target = process.argv[2]
  ? resolve(process.argv[2])
  : fileURLToPath(new URL('../../../.lab/compose.env', import.meta.url));

const password = () => randomBytes(24).toString('base64url');
const kid = `compose-${randomUUID().slice(0, 8)}`;
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' };
const privateJwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' };

// Single quotes: compose reads the JSON values literally.
const lines = [
  `POSTGRES_PASSWORD=${password()}`,
  `REPLICATOR_PASSWORD=${password()}`,
  `APP_DB_PASSWORD=${password()}`,
  `ADMIN_TOKEN=${password()}`,
  `GRAFANA_ADMIN_PASSWORD=${password()}`,
  `JWT_JWKS='${JSON.stringify({ keys: [publicJwk] })}'`,
  `JWT_SIGNING_KEY='${JSON.stringify(privateJwk)}'`,
];
mkdirSync(dirname(target), { recursive: true });
try {
  // O_EXCL: created here or not at all. A check-then-write could follow a symlink planted in between
  // (or already there, dangling) and write the secrets wherever it points.
  writeFileSync(target, `${lines.join('\n')}\n`, { mode: 0o600, flag: 'wx' });
} catch (err) {
  if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  console.error(`${target} exists; delete it (and the compose volumes) to start over`);
  process.exit(1);
}
console.log(`wrote ${target} (mode 0600; secrets not printed)`);
