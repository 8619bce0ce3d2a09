// LabClient: the thin client of the supervisor's control API, used by the CLI, the drill and tests.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  Fault,
  FaultResult,
  FaultTarget,
  LabStatus,
  LinkFaults,
  RegionName,
} from '@failover-lab/contracts';
import { LabPaths, stateDirFromEnv } from './paths';
import { isAlive, livePidFromFile, sleep } from './process';
import { readControlToken } from './secrets';
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

  /** Applies one of the contract's faults (kill, freeze, …) and answers once it has taken hold. */
  apply(fault: Fault): Promise<FaultResult> {
    return this.call('POST', '/faults', fault, 300_000);
  }

  /** Undoes a fault: thaw what was frozen, restore what was killed. */
  reset(fault: Fault): Promise<FaultResult> {
    return this.call('POST', '/faults/reset', fault, 300_000);
  }

  /** region_kill, or component_kill with a service and/or a component. */
  kill(region: RegionName, narrower: Omit<FaultTarget, 'region'> = {}): Promise<FaultResult> {
    const target = { region, ...narrower };
    const narrowed = target.service !== undefined || target.component !== undefined;
    return this.apply({ kind: narrowed ? 'component_kill' : 'region_kill', target });
  }

  freeze(region: RegionName): Promise<FaultResult> {
    return this.apply({ kind: 'region_freeze', target: { region } });
  }

  thaw(region: RegionName): Promise<FaultResult> {
    return this.apply({ kind: 'region_thaw', target: { region } });
  }

  restore(region: RegionName): Promise<FaultResult> {
    return this.apply({ kind: 'region_restore', target: { region } });
  }

  /** `lab reset`: heals every link fault; the answer lists what is still active (nothing). */
  healLinks(): Promise<LinkFaults> {
    return this.call('POST', '/reset', {}, 30_000);
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
