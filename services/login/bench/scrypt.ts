// Cost of one password hash with the login parameters, one at a time (no concurrency):
//   npx tsx services/login/bench/scrypt.ts      (SCRYPT_SAMPLES, default 10)
import { DEFAULT_SCRYPT_PARAMS, hashPassword } from '../src/password';

const samples = Number(process.env.SCRYPT_SAMPLES ?? 10);
const times: number[] = [];
for (let i = 0; i < samples; i++) {
  const started = performance.now();
  await hashPassword('a benchmark password', DEFAULT_SCRYPT_PARAMS);
  times.push(performance.now() - started);
}
times.sort((a, b) => a - b);
const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(0);
console.log(
  `scrypt N=2^${DEFAULT_SCRYPT_PARAMS.log2N} r=${DEFAULT_SCRYPT_PARAMS.r} p=${DEFAULT_SCRYPT_PARAMS.p}: ` +
    `${samples} hashes, min ${times[0]!.toFixed(0)} ms, p50 ${at(0.5)} ms, max ${times.at(-1)!.toFixed(0)} ms`,
);
