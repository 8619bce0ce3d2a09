// Where the compose backend finds its secrets and the stack's published addresses. The secrets are
// read from the environment (ADMIN_TOKEN, APP_DB_PASSWORD, LINKS_TOKEN) or else from the env file compose itself
// was started with (COMPOSE_ENV_FILE, default .lab/compose.env): the drill never needs them typed in
// or passed on a command line.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../options';

export interface ComposeSettings {
  adminToken: string;
  appPassword: string;
  /** LINKS_TOKEN: the links container's control API; absent, link faults refuse by name */
  linksToken?: string;
  /** COMPOSE_PROJECT_NAME: only this project's containers are touched (unset: every stack's) */
  project?: string;
  routerUrl: string;
  prometheusUrl: string;
  /** the links container's control API (link faults) */
  linksUrl: string;
}

/** KEY=value lines as compose's --env-file reads them (a value may be wrapped in ' or "). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    let value = line.slice(eq + 1);
    if (value.length >= 2 && (value[0] === "'" || value[0] === '"') && value.endsWith(value[0]!))
      value = value.slice(1, -1);
    out[line.slice(0, eq)] = value;
  }
  return out;
}

export function composeSettings(env: NodeJS.ProcessEnv, repoRoot: string): ComposeSettings {
  const envFile = path.resolve(repoRoot, env.COMPOSE_ENV_FILE || path.join('.lab', 'compose.env'));
  const fromFile = existsSync(envFile) ? parseEnvFile(readFileSync(envFile, 'utf8')) : {};
  const adminToken = env.ADMIN_TOKEN || fromFile.ADMIN_TOKEN;
  const appPassword = env.APP_DB_PASSWORD || fromFile.APP_DB_PASSWORD;
  if (!adminToken || !appPassword) {
    throw new UsageError(
      `the compose backend needs ADMIN_TOKEN and APP_DB_PASSWORD: in the environment or in ${envFile} ` +
        '(the env file the stack was started with; COMPOSE_ENV_FILE names another)',
    );
  }
  // docker-compose.yml publishes on FAILOVER_LAB_PUBLISH_ADDRESS (default 127.0.0.1)
  const address = env.FAILOVER_LAB_PUBLISH_ADDRESS || fromFile.FAILOVER_LAB_PUBLISH_ADDRESS || '127.0.0.1';
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address))
    throw new UsageError(`FAILOVER_LAB_PUBLISH_ADDRESS must be a 127.x.y.z address, got ${address}`);
  const project = env.COMPOSE_PROJECT_NAME || fromFile.COMPOSE_PROJECT_NAME || undefined;
  const linksToken = env.LINKS_TOKEN || fromFile.LINKS_TOKEN || undefined;
  return {
    adminToken,
    appPassword,
    ...(linksToken ? { linksToken } : {}),
    ...(project ? { project } : {}),
    routerUrl: env.DRILL_ROUTER_URL || `http://${address}:8080`,
    prometheusUrl: env.DRILL_PROMETHEUS_URL || `http://${address}:9090`,
    linksUrl: `http://${address}:7071`,
  };
}
