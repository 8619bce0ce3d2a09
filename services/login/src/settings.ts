// Login-only settings beyond the cell contract. All optional, with defaults documented in the README.
import { DEFAULT_SCRYPT_PARAMS, type ScryptParams } from './password';
import type { RateLimitRule } from './rate-limit';

export interface LoginSettings {
  signInLimitPerUsername: RateLimitRule;
  signInLimitPerIp: RateLimitRule;
  scrypt: ScryptParams;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`${name} must be an integer 1-${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function loadLoginSettings(env: NodeJS.ProcessEnv = process.env): LoginSettings {
  const windowSeconds = positiveInt(env, 'LOGIN_SIGNIN_WINDOW_SECONDS', 60, 86_400);
  const log2N = positiveInt(env, 'LOGIN_SCRYPT_LOG2N', DEFAULT_SCRYPT_PARAMS.log2N, 20);
  if (log2N < 14) throw new Error('LOGIN_SCRYPT_LOG2N below 14 is too weak for passwords');
  return {
    signInLimitPerUsername: {
      limit: positiveInt(env, 'LOGIN_SIGNIN_LIMIT_PER_USERNAME', 10, 1_000_000),
      windowSeconds,
    },
    signInLimitPerIp: { limit: positiveInt(env, 'LOGIN_SIGNIN_LIMIT_PER_IP', 300, 1_000_000), windowSeconds },
    scrypt: { ...DEFAULT_SCRYPT_PARAMS, log2N },
  };
}
