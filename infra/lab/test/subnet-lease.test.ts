import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { leaseSubnet } from '../src/subnet-lease';

const leaseFile = (subnet: number) => join(tmpdir(), 'flab-subnet-leases', String(subnet));

it('never hands out a leased subnet twice, and release frees it', async () => {
  const leases = [];
  for (let i = 0; i < 20; i++) leases.push(await leaseSubnet());
  const subnets = leases.map((l) => l.subnet);
  expect(new Set(subnets).size).toBe(20);
  expect(subnets.every((s) => s >= 100 && s <= 250 && existsSync(leaseFile(s)))).toBe(true);

  // asking for a held subnet by number does not take it over, and its release leaves the holder's lease
  const again = await leaseSubnet(subnets[0]);
  again.release();
  expect(existsSync(leaseFile(subnets[0]!))).toBe(true);

  for (const lease of leases) lease.release();
  // none is ours any more. (Not "no file left": another run on the machine — a lab, another worktree's
  // tests — may lease a freed subnet the moment it is released; its file then names that run's pid.)
  const ours = (s: number) => {
    try {
      return readFileSync(leaseFile(s), 'utf8').trim() === String(process.pid);
    } catch {
      return false;
    }
  };
  expect(subnets.filter(ours)).toEqual([]);
});
