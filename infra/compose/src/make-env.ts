// Creates .lab/compose.env (git-ignored) with fresh random secrets and an Ed25519 signing key, for
// `docker-compose --env-file .lab/compose.env …`. Refuses to overwrite an existing file: rotating
// the passwords of initialised Postgres volumes would lock the apps out.
//   npx tsx infra/compose/src/make-env.ts [target]   (default .lab/compose.env)
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const target = process.argv[2]
  ? resolve(process.argv[2])
  : fileURLToPath(new URL('../../../.lab/compose.env', import.meta.url));
if (existsSync(target)) {
  console.error(`${target} exists; delete it (and the compose volumes) to start over`);
  process.exit(1);
}

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
  // the console's login token (infra/console/README.md); its own secret, not the router's admin token
  `CONSOLE_TOKEN=${password()}`,
  `GRAFANA_ADMIN_PASSWORD=${password()}`,
  `JWT_JWKS='${JSON.stringify({ keys: [publicJwk] })}'`,
  `JWT_SIGNING_KEY='${JSON.stringify(privateJwk)}'`,
];
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, `${lines.join('\n')}\n`, { mode: 0o600 });
console.log(`wrote ${target} (mode 0600; secrets not printed)`);
