// Where the console runs and what it talks to. Two ways, one code path:
//  - lab (default): started by the lab supervisor on the edge address; everything it needs comes
//    from the lab's state dir (lab.json for addresses, the 0600 secrets.json for tokens), so no
//    secret is ever in its argv or environment;
//  - compose: a container on the edge network; router URL and tokens from its environment. It has no
//    lab supervisor and no Docker socket, so faults and drills are off there (see README).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabClient } from '@failover-lab/lab';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const DEFAULT_CONSOLE_PORT = 8090;

export interface ConsoleConfig {
  mode: 'lab' | 'compose';
  host: string;
  port: number;
  routerUrl: string;
  prometheusUrl: string | null;
  drillOutDir: string;
  /** the token people log in with; read on every check (a restarted lab has a new one) */
  consoleToken: () => string | undefined;
  /** the router's admin token */
  adminToken: () => string | undefined;
  /** lab mode only */
  lab: LabClient | null;
  appPassword: () => string | undefined;
  /** environment a drill child process needs to find this lab (no secrets) */
  labEnv: NodeJS.ProcessEnv;
}

interface SecretsFile {
  adminToken?: string;
  appPassword?: string;
  controlToken?: string;
}

function readSecrets(file: string): SecretsFile {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SecretsFile;
  } catch {
    return {};
  }
}

function port(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535)
    throw new Error(`${name} must be a port number`);
  return value;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ConsoleConfig {
  const drillOutDir = resolve(env.DRILL_OUT_DIR || join(REPO_ROOT, 'drill-out'));
  if (env.CONSOLE_MODE === 'compose') {
    const routerUrl = env.ROUTER_URL;
    if (!routerUrl) throw new Error('CONSOLE_MODE=compose needs ROUTER_URL');
    if (!env.CONSOLE_TOKEN || env.CONSOLE_TOKEN.length < 16)
      throw new Error('CONSOLE_TOKEN (≥ 16 chars) is required');
    if (!env.ADMIN_TOKEN) throw new Error('ADMIN_TOKEN is required');
    const { CONSOLE_TOKEN: consoleToken, ADMIN_TOKEN: adminToken } = env;
    return {
      mode: 'compose',
      host: env.CONSOLE_HOST || '0.0.0.0',
      port: port(env.CONSOLE_PORT, DEFAULT_CONSOLE_PORT, 'CONSOLE_PORT'),
      routerUrl,
      prometheusUrl: env.PROMETHEUS_URL || null,
      drillOutDir,
      consoleToken: () => consoleToken,
      adminToken: () => adminToken,
      lab: null,
      appPassword: () => undefined,
      labEnv: {},
    };
  }
  if (env.CONSOLE_MODE && env.CONSOLE_MODE !== 'lab') throw new Error('CONSOLE_MODE must be lab or compose');
  const lab = LabClient.forStateDir(env.LAB_STATE_DIR ? resolve(env.LAB_STATE_DIR) : undefined);
  const secretsFile = join(lab.stateDir, 'secrets.json');
  const { topo } = lab;
  return {
    mode: 'lab',
    host: env.CONSOLE_HOST || topo.edge.host,
    port: port(env.CONSOLE_PORT, DEFAULT_CONSOLE_PORT, 'CONSOLE_PORT'),
    routerUrl: topo.edge.routerUrl,
    prometheusUrl: topo.edge.prometheusUrl,
    drillOutDir,
    consoleToken: () => readSecrets(secretsFile).controlToken,
    adminToken: () => readSecrets(secretsFile).adminToken,
    lab,
    appPassword: () => readSecrets(secretsFile).appPassword,
    labEnv: {
      LAB_STATE_DIR: lab.stateDir,
      LAB_SUBNET: String(topo.subnet),
      LAB_APP_PORT: String(topo.ports.app),
      LAB_PG_PORT: String(topo.ports.postgres),
      LAB_REDIS_PORT: String(topo.ports.redis),
      LAB_ROUTER_PORT: String(topo.ports.router),
      LAB_PROMETHEUS_PORT: String(topo.ports.prometheus),
      LAB_CONTROL_PORT: String(topo.ports.control),
    },
  };
}
