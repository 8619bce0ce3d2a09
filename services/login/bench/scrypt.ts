// Cost of one password hash, one at a time (no concurrency), for each candidate N: the figures the
// choice of N in src/password.ts rests on. Several runs per N; the median of each run's p50 is the
// figure. Prints the load average before and after, since the machine is shared.
//   npx tsx services/login/bench/scrypt.ts      (SCRYPT_LOG2N=15,16,17 SCRYPT_SAMPLES=8 SCRYPT_RUNS=3)
import { loadavg } from 'node:os';
import { DEFAULT_SCRYPT_PARAMS, hashPassword } from '../src/password';

const candidates = (process.env.SCRYPT_LOG2N ?? '15,16,17').split(',').map(Number);
const samples = Number(process.env.SCRYPT_SAMPLES ?? 8);
const runs = Number(process.env.SCRYPT_RUNS ?? 3);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(`load average before: ${load()}`);
for (const log2N of candidates) {
  const params = { ...DEFAULT_SCRYPT_PARAMS, log2N };
  const p50s: number[] = [];
  for (let run = 0; run < runs; run++) {
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      await hashPassword('a benchmark password', params);
      times.push(performance.now() - started);
    }
    p50s.push(median(times));
    console.log(
      `  N=2^${log2N} run ${run + 1}: ${samples} hashes, min ${Math.min(...times).toFixed(0)} ms, ` +
        `p50 ${median(times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms (load ${load()})`,
    );
  }
  console.log(
    `scrypt N=2^${log2N} r=${params.r} p=${params.p}: median p50 ${median(p50s).toFixed(0)} ms over ${runs} runs, ` +
      `${((128 * 2 ** log2N * params.r) / 2 ** 20).toFixed(0)} MiB per hash`,
  );
}
console.log(`load average after: ${load()}`);
