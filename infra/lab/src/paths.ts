// Where the lab keeps its state. Everything lives under one folder (`.lab/` at the repo root, or
// LAB_STATE_DIR) so `down --wipe` is one rm and nothing leaks into the rest of the checkout.

import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlPlanePlacement, RegionName, ServiceName } from '@failover-lab/contracts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function stateDirFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.LAB_STATE_DIR || join(REPO_ROOT, '.lab'));
}

// sun_path holds 108 bytes including the terminating NUL.
const UNIX_SOCKET_PATH_MAX = 107;

export interface CellPaths {
  root: string;
  pgData: string;
  pgSocketDir: string;
  redisDir: string;
}

export class LabPaths {
  constructor(readonly stateDir: string) {}

  get secretsFile() {
    return join(this.stateDir, 'secrets.json');
  }
  get logsDir() {
    return join(this.stateDir, 'logs');
  }
  get runDir() {
    return join(this.stateDir, 'run');
  }
  /** rows a stale primary held that the current primary lacks, exported before it was rebuilt */
  get quarantineDir() {
    return join(this.stateDir, 'quarantine');
  }

  get cellsDir() {
    return join(this.stateDir, 'cells');
  }
  get edgeDir() {
    return join(this.stateDir, 'edge');
  }
  /**
   * Where the router's state and Prometheus' data live: the edge dir, or a region's own dir when the
   * control plane is placed inside that region (it is that region's disk that would burn with it).
   */
  controlPlaneDir(placement: ControlPlanePlacement) {
    return placement === 'edge' ? this.edgeDir : join(this.stateDir, 'regions', placement, 'control-plane');
  }
  get supervisorPidFile() {
    return join(this.runDir, 'supervisor.pid');
  }

  log(component: string) {
    return join(this.logsDir, `${component}.log`);
  }
  pidFile(component: string) {
    return join(this.runDir, `${component}.pid`);
  }

  cell(service: ServiceName, region: RegionName, pgPort: number): CellPaths {
    const root = join(this.cellsDir, `${service}-${region}`);
    return {
      root,
      pgData: join(root, 'pg'),
      pgSocketDir: this.socketDir(join(root, 'pg-socket'), `${service}-${region}`, pgPort),
      redisDir: join(root, 'redis'),
    };
  }

  /** The socket dir inside the state dir, unless that path would be too long for a unix socket. */
  private socketDir(preferred: string, name: string, port: number): string {
    if (`${preferred}/.s.PGSQL.${port}.lock`.length <= UNIX_SOCKET_PATH_MAX) return preferred;
    return join(this.socketFallbackRoot, name);
  }

  private get socketFallbackRoot() {
    const tag = createHash('sha256').update(this.stateDir).digest('hex').slice(0, 10);
    return join(tmpdir(), `flab-sock-${tag}`);
  }

  /** Dirs outside the state dir that belong to it (long state dir paths only). */
  socketFallbackDirs(): string[] {
    return existsSync(this.socketFallbackRoot) ? [this.socketFallbackRoot] : [];
  }

  ensureBaseDirs() {
    for (const dir of [this.stateDir, this.logsDir, this.runDir, this.edgeDir]) {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
    }
    // Logs are for the user who runs the lab only. (The data stores' own dirs below cells/ are 0700
    // each, owned by whoever runs that store; cells/ itself stays enterable for Postgres' OS user.)
    mkdirSync(this.logsDir, { recursive: true, mode: 0o700 });
    chmodSync(this.logsDir, 0o700);
  }
}
