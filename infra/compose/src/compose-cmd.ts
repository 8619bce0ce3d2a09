// How the project's commands call docker compose: v2 (`docker compose`) when the docker CLI has the
// plugin, else v1 (`docker-compose`); FAILOVER_LAB_COMPOSE overrides ("docker-compose" or
// "docker compose"). Always with the env file the stack's secrets are in (`${X:?}` interpolations
// refuse to parse the file without them, even for a build).
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_IMAGE, POSTGRES_IMAGE, PROMETHEUS_IMAGE, REDIS_IMAGE } from './compose-file';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function composeCommand(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.FAILOVER_LAB_COMPOSE) return env.FAILOVER_LAB_COMPOSE.split(/\s+/).filter(Boolean);
  const v2 = spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' });
  return v2.status === 0 ? ['docker', 'compose'] : ['docker-compose'];
}

export function envFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(REPO_ROOT, env.COMPOSE_ENV_FILE || path.join('.lab', 'compose.env'));
}

/**
 * One service per image of the core stack: building these builds every image once. (Compose builds a
 * `build:` once per service, and the same image serves six of them.)
 */
export const IMAGE_BUILDS: { image: string; service: string }[] = [
  { image: POSTGRES_IMAGE, service: 'payments-dc-a-postgres' },
  { image: REDIS_IMAGE, service: 'payments-dc-a-redis' },
  { image: PROMETHEUS_IMAGE, service: 'prometheus' },
  { image: NODE_IMAGE, service: 'router' },
];

/** Runs compose with the env file; resolves with its exit code, output to this terminal. */
export function runCompose(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): Promise<number> {
  const env = options.env ?? process.env;
  const [file, ...pre] = composeCommand(env);
  const full = [...pre, '--env-file', envFile(env), ...args];
  options.log?.(`$ ${file} ${full.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(file!, full, {
      cwd: REPO_ROOT,
      // The classic builder unless told otherwise: it uses a base image that is only local, where
      // BuildKit may first ask a registry about it.
      env: { DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0', ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

/** Builds every image of the core stack once, one after another; seconds per image. */
export async function buildImages(
  log: (line: string) => void,
  env = process.env,
): Promise<Record<string, number>> {
  const seconds: Record<string, number> = {};
  for (const { image, service } of IMAGE_BUILDS) {
    const started = Date.now();
    const code = await runCompose(['build', service], { env, log });
    if (code !== 0) throw new Error(`building ${image} (service ${service}) failed with exit ${code}`);
    seconds[image] = (Date.now() - started) / 1000;
    log(`${image} built in ${seconds[image]!.toFixed(0)} s`);
  }
  return seconds;
}
