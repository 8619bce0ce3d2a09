// Cold and warm start times of a whole lab (`npm run bench:lab`), in a temp state dir on a random
// subnet so it never touches the lab you may be running. `-- --data-only` skips apps and router;
// `-- --steps` prints every start's progress lines with their time since the start began.
//   cold: fresh state dir (initdb, pg_basebackup, …)   warm: `down` then `up` on the same data dirs
import { readFileSync } from 'node:fs';
import { launchLab, stopLab } from '../src/lab';
import { leaseSubnet } from '../src/subnet-lease';
import { makeTempStateDir } from '../src/test-data-tier';
import { subnetFromEnv } from '../src/topology';

const dataOnly = process.argv.includes('--data-only');
const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 1);
// every progress line of each start, stamped with the ms since launchLab was called
const steps = process.argv.includes('--steps');

const loadAverage1m = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

interface StartTiming {
  totalMs: number;
  /** 1-minute load average when this start began */
  load: number;
  /** when the last Postgres/Redis/Prometheus reported ready */
  dataTierMs: number;
}

async function timedUp(stateDir: string, subnet: number, name: string): Promise<StartTiming> {
  let dataTierMs = 0;
  const load = loadAverage1m();
  const t0 = Date.now();
  await launchLab({
    stateDir,
    subnet,
    apps: !dataOnly,
    onProgress: (line) => {
      if (/-(postgres|redis) |prometheus /.test(line)) dataTierMs = Date.now() - t0;
      if (steps) console.log(`${name} ${String(Date.now() - t0).padStart(6)} ms ${line}`);
    },
  });
  return { totalMs: Date.now() - t0, dataTierMs, load };
}

const cold: StartTiming[] = [];
const warm: StartTiming[] = [];
for (let i = 0; i < runs; i++) {
  const stateDir = makeTempStateDir('flab-bench-');
  // LAB_SUBNET pins the subnet (an engineer's own on a shared machine); otherwise a free test one
  const lease = await leaseSubnet(process.env.LAB_SUBNET ? subnetFromEnv() : undefined);
  const { subnet } = lease;
  try {
    cold.push(await timedUp(stateDir, subnet, `cold#${i + 1}`));
    await stopLab(stateDir);
    warm.push(await timedUp(stateDir, subnet, `warm#${i + 1}`));
  } finally {
    await stopLab(stateDir, { wipe: true });
    lease.release();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const row = (name: string, ts: StartTiming[]) =>
  `${name.padEnd(6)} total ${String(median(ts.map((t) => t.totalMs))).padStart(6)} ms   ` +
  `data tier + Prometheus ${String(median(ts.map((t) => t.dataTierMs))).padStart(6)} ms   ` +
  `(runs: ${ts.map((t) => `${t.totalMs} ms at load ${t.load.toFixed(1)}`).join(', ')})`;
console.log(
  `lab start (${dataOnly ? 'data tier only' : 'with every app/router present'}), median of ${runs}:`,
);
console.log(row('cold', cold));
console.log(row('warm', warm));
