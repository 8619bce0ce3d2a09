// Creates .lab/compose.env (git-ignored) with fresh random secrets and an Ed25519 signing key, for
// `docker-compose --env-file .lab/compose.env …`. Refuses to overwrite an existing file: rotating
// the passwords of initialised Postgres volumes would lock the apps out (it only adds secrets that
// a file made by an older version lacks and no volume depends on).
//   npx tsx infra/compose/src/make-env.ts [target]   (default .lab/compose.env)
//   MESSAGING_TOPOLOGY=active-active npx tsx infra/compose/src/make-env.ts   (messaging's topology,
//   default active-passive: kept with the secrets, since the volumes are made for one of the two)
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const target = process.argv[2]
  ? resolve(process.argv[2])
  : fileURLToPath(new URL('../../../.lab/compose.env', import.meta.url));
// Never through a symlink: one planted at the target (even dangling) would have the secrets written
// wherever it points. Creation below is O_EXCL; an upgrade appends with O_NOFOLLOW.
const existing = (() => {
  try {
    return lstatSync(target);
  } catch {
    return undefined;
  }
})();
if (existing && !existing.isFile()) {
  console.error(`${target} exists and is not a regular file; refusing to write through it`);
  process.exit(1);
}
// Secrets that no volume remembers can be added to an existing file (an env file made before they
// existed); the others would lock the apps out of initialised volumes if they changed.
// (Redis keeps no volume: its password can be added too; the links token is in no volume either.)
const ADDABLE = ['CONSOLE_TOKEN', 'REDIS_PASSWORD', 'LINKS_TOKEN'];
if (existing) {
  const text = readFileSync(target, 'utf8');
  const missing = ADDABLE.filter((name) => !new RegExp(`^${name}=`, 'm').test(text));
  if (missing.length === 0) {
    console.error(`${target} exists; delete it (and the compose volumes) to start over`);
    process.exit(1);
  }
  const added = missing.map((name) => `${name}=${randomBytes(24).toString('base64url')}`);
  const fd = openSync(target, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW);
  try {
    fchmodSync(fd, 0o600);
    writeFileSync(fd, `${text.endsWith('\n') ? '' : '\n'}${added.join('\n')}\n`);
  } finally {
    closeSync(fd);
  }
  console.log(`added ${missing.join(', ')} to ${target} (secrets not printed)`);
  process.exit(0);
}

const topology = process.env.MESSAGING_TOPOLOGY || 'active-passive';
if (topology !== 'active-passive' && topology !== 'active-active') {
  console.error(
    `MESSAGING_TOPOLOGY must be active-passive or active-active, got ${JSON.stringify(topology)}`,
  );
  process.exit(2);
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
  // requirepass and masterauth of every Redis
  `REDIS_PASSWORD=${password()}`,
  // the links container's control API (link faults); its own secret
  `LINKS_TOKEN=${password()}`,
  `JWT_JWKS='${JSON.stringify({ keys: [publicJwk] })}'`,
  `JWT_SIGNING_KEY='${JSON.stringify(privateJwk)}'`,
  // docs/active-active.md; the stack's volumes are made for this one (docker compose down -v to change)
  `MESSAGING_TOPOLOGY=${topology}`,
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
console.log(`wrote ${target} (mode 0600; secrets not printed; messaging ${topology})`);
