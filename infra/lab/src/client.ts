// LabClient: the thin client of the supervisor's control API, used by the CLI, the drill and tests.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ComponentName, RegionName, ServiceName } from '@failover-lab/contracts';
import { LabPaths, stateDirFromEnv } from './paths';
import { isAlive, livePidFromFile, sleep } from './process';
import { readControlToken } from './secrets';
import type { LabStatus } from './status';
import { releaseSubnet } from './subnet-lease';
import { DEFAULT_PORTS, type Ports, type Topology, topology } from './topology';

export class LabError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface KillResult {
  region: RegionName;
  killed: string[];
}

export class LabClient {
  readonly controlUrl: string;

  constructor(
    readonly topo: Topology,
    readonly stateDir: string,
  ) {
    this.controlUrl = topo.edge.controlUrl;
  }

  /** The client of the lab whose state is in stateDir (subnet and ports as that lab started). */
  static forStateDir(stateDir = stateDirFromEnv()): LabClient {
    const file = join(new LabPaths(stateDir).runDir, 'lab.json');
    if (!existsSync(file)) throw new LabError('LAB_ERR_NOT_RUNNING', `no lab has run from ${stateDir}`, 0);
    const { subnet, ports } = JSON.parse(readFileSync(file, 'utf8')) as { subnet: number; ports: Ports };
    return new LabClient(topology(subnet, { ...DEFAULT_PORTS, ...ports }), stateDir);
  }

  private async call<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    timeoutMs = 120_000,
  ): Promise<T> {
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    // Read on every call: the supervisor writes secrets.json after this client may have been made
    // (launchLab), and a wiped and restarted lab in the same state dir has a new token.
    const token = readControlToken(new LabPaths(this.stateDir).secretsFile);
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${this.controlUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const payload = (await res.json()) as T & { error?: { code: string; message: string } };
    if (!res.ok) {
      throw new LabError(
        payload.error?.code ?? 'LAB_ERR_UNKNOWN',
        payload.error?.message ?? res.statusText,
        res.status,
      );
    }
    return payload;
  }

  /** true when the supervisor answers and has finished bringing the lab up */
  async isReady(): Promise<boolean> {
    try {
      return (await this.call<{ state: string }>('GET', '/health', undefined, 2_000)).state === 'ready';
    } catch {
      return false;
    }
  }

  status(): Promise<LabStatus> {
    return this.call('GET', '/status', undefined, 10_000);
  }

  kill(
    region: RegionName,
    target: { service?: ServiceName; component?: ComponentName } = {},
  ): Promise<KillResult> {
    return this.call('POST', '/kill', { region, ...target });
  }

  freeze(region: RegionName): Promise<{ region: RegionName; frozen: string[] }> {
    return this.call('POST', '/freeze', { region });
  }

  thaw(region: RegionName): Promise<{ region: RegionName; thawed: string[] }> {
    return this.call('POST', '/thaw', { region });
  }

  restore(region: RegionName): Promise<{ region: RegionName; roles: Record<string, string>; ms: number }> {
    return this.call('POST', '/restore', { region }, 300_000);
  }

  /** Stops every lab process and waits for the supervisor to exit. */
  async down(): Promise<void> {
    const paths = new LabPaths(this.stateDir);
    const daemonPid = livePidFromFile(paths.supervisorPidFile);
    await this.call('POST', '/down', {}, 120_000);
    if (daemonPid === undefined) return;
    const deadline = Date.now() + 10_000;
    while (isAlive(daemonPid) && Date.now() < deadline) await sleep(25);
    releaseSubnet(this.topo.subnet, daemonPid);
  }
}
