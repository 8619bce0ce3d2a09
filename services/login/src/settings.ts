// Login-only settings beyond the cell contract. All optional, with defaults documented in the README.
import { DEFAULT_SCRYPT_PARAMS, type ScryptParams } from './password';
import type { RateLimitRule } from './rate-limit';

export interface LoginSettings {
  signInLimitPerUsername: RateLimitRule;
  signInLimitPerIp: RateLimitRule;
  scrypt: ScryptParams;
  sweep: SweepSettings;
}

export interface SweepSettings {
  /** how often the primary deletes expired token rows; 0 = never */
  intervalMs: number;
  /** rows per DELETE statement, so one statement never holds many row locks for long */
  batchSize: number;
}

function intInRange(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer ${min}-${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

const positiveInt = (env: NodeJS.ProcessEnv, name: string, fallback: number, max: number) =>
  intInRange(env, name, fallback, 1, max);

export function loadLoginSettings(env: NodeJS.ProcessEnv = process.env): LoginSettings {
  const windowSeconds = positiveInt(env, 'LOGIN_SIGNIN_WINDOW_SECONDS', 60, 86_400);
  const log2N = positiveInt(env, 'LOGIN_SCRYPT_LOG2N', DEFAULT_SCRYPT_PARAMS.log2N, 20);
  if (log2N < 14) throw new Error('LOGIN_SCRYPT_LOG2N below 14 is too weak for passwords');
  const sweepIntervalMs = intInRange(env, 'LOGIN_SWEEP_INTERVAL_MS', 60_000, 0, 86_400_000);
  // Sub-second sweeps would only burn the primary's CPU; tests pass settings in directly.
  if (sweepIntervalMs > 0 && sweepIntervalMs < 1000) {
    throw new Error('LOGIN_SWEEP_INTERVAL_MS must be 0 (off) or at least 1000');
  }
  return {
    signInLimitPerUsername: {
      limit: positiveInt(env, 'LOGIN_SIGNIN_LIMIT_PER_USERNAME', 10, 1_000_000),
      windowSeconds,
    },
    signInLimitPerIp: { limit: positiveInt(env, 'LOGIN_SIGNIN_LIMIT_PER_IP', 300, 1_000_000), windowSeconds },
    scrypt: { ...DEFAULT_SCRYPT_PARAMS, log2N },
    sweep: {
      intervalMs: sweepIntervalMs,
      batchSize: positiveInt(env, 'LOGIN_SWEEP_BATCH_SIZE', 1000, 100_000),
    },
  };
}
