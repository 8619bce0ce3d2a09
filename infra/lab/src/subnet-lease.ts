// Test runs pick a random subnet (100-250) so they never share addresses; with several engineers
// and CI running at once, two random picks do collide. A lease file per subnet (created with O_EXCL,
// naming its owner's pid) makes the pick cooperative, and a bind probe catches anyone else.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REGIONS, SERVICES } from '@failover-lab/contracts';
import { isAlive } from './process';
import { cellHost, DEFAULT_PORTS, edgeHost } from './topology';

const LEASE_DIR = join(tmpdir(), 'flab-subnet-leases');
const leaseFile = (subnet: number) => join(LEASE_DIR, String(subnet));

export const randomTestSubnet = () => 100 + Math.floor(Math.random() * 151);

function tryTakeLease(subnet: number, ownerPid: number): boolean {
  mkdirSync(LEASE_DIR, { recursive: true, mode: 0o777 });
  try {
    writeFileSync(leaseFile(subnet), String(ownerPid), { flag: 'wx' });
    return true;
  } catch {
    const owner = Number(readFileSync(leaseFile(subnet), 'utf8').trim() || 0);
    if (owner > 0 && isAlive(owner)) return false;
    rmSync(leaseFile(subnet), { force: true }); // its owner died without releasing it
    try {
      writeFileSync(leaseFile(subnet), String(ownerPid), { flag: 'wx' });
      return true;
    } catch {
      return false; // someone else reclaimed it first
    }
  }
}

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

/** Nobody (leasing or not) listens on the subnet's Postgres or control ports. */
async function looksFree(subnet: number): Promise<boolean> {
  const probes = [
    canBind(edgeHost(subnet), DEFAULT_PORTS.control),
    ...SERVICES.flatMap((s) => REGIONS.map((r) => canBind(cellHost(r, s, subnet), DEFAULT_PORTS.postgres))),
  ];
  return (await Promise.all(probes)).every(Boolean);
}

export interface SubnetLease {
  subnet: number;
  /** hands the lease to another process (the lab daemon outlives the call that started it) */
  transfer(ownerPid: number): void;
  /** removes the lease if it is still ours */
  release(): void;
}

function leaseObject(subnet: number, held: boolean): SubnetLease {
  let owner = process.pid;
  return {
    subnet,
    transfer: (ownerPid) => {
      if (!held) return;
      writeFileSync(leaseFile(subnet), String(ownerPid));
      owner = ownerPid;
    },
    release: () => {
      if (held) releaseSubnet(subnet, owner);
    },
  };
}

/**
 * A lease on `subnet` when given (best effort: someone may hold it, e.g. the lab already running
 * there), else on a random free test subnet.
 */
export async function leaseSubnet(subnet?: number): Promise<SubnetLease> {
  if (subnet !== undefined) return leaseObject(subnet, tryTakeLease(subnet, process.pid));
  for (let attempt = 0; attempt < 60; attempt++) {
    const candidate = randomTestSubnet();
    if (!tryTakeLease(candidate, process.pid)) continue;
    if (await looksFree(candidate)) return leaseObject(candidate, true);
    rmSync(leaseFile(candidate), { force: true });
  }
  throw new Error('no free test subnet in 127.100-250.x.x (are that many labs running?)');
}

/** Removes a subnet's lease if `ownerPid` holds it. */
export function releaseSubnet(subnet: number, ownerPid: number) {
  try {
    if (Number(readFileSync(leaseFile(subnet), 'utf8').trim()) === ownerPid)
      rmSync(leaseFile(subnet), { force: true });
  } catch {
    // no lease
  }
}
