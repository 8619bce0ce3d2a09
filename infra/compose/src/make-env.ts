// Creates .lab/compose.env (git-ignored) with fresh random secrets and an Ed25519 signing key, for
// `docker-compose --env-file .lab/compose.env …`. Refuses to overwrite an existing file: rotating
// the passwords of initialised Postgres volumes would lock the apps out (it only adds secrets that
// a file made by an older version lacks and no volume depends on).
//   npx tsx infra/compose/src/make-env.ts [target]   (default .lab/compose.env)
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const target = process.argv[2]
  ? resolve(process.argv[2])
  : fileURLToPath(new URL('../../../.lab/compose.env', import.meta.url));
// Secrets that no volume remembers can be added to an existing file (an env file made before they
// existed); the others would lock the apps out of initialised volumes if they changed.
const ADDABLE = ['CONSOLE_TOKEN'];
if (existsSync(target)) {
  const text = readFileSync(target, 'utf8');
  const missing = ADDABLE.filter((name) => !new RegExp(`^${name}=`, 'm').test(text));
  if (missing.length === 0) {
    console.error(`${target} exists; delete it (and the compose volumes) to start over`);
    process.exit(1);
  }
  const added = missing.map((name) => `${name}=${randomBytes(24).toString('base64url')}`);
  writeFileSync(target, `${text.replace(/\n?$/, '\n')}${added.join('\n')}\n`);
  chmodSync(target, 0o600);
  console.log(`added ${missing.join(', ')} to ${target} (secrets not printed)`);
  process.exit(0);
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
