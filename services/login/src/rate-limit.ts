// Sign-in attempts limited per username from one client IP, and per client IP: fixed windows counted
// in Redis with INCR + EXPIRE. A window per username alone would let anyone lock a user out by
// failing to sign in as them; per username and IP, a guesser only blocks themselves (and the per-IP
// window bounds how many usernames one address tries). The price: a guesser with many addresses gets
// `limit` tries per address. Redis holds nothing we cannot lose, so when it is down or slow the limiter fails OPEN
// (sign-in keeps working through a Redis outage or failover) and says so through `onFailOpen`.
import type { Redis } from 'ioredis';

export interface RateLimitRule {
  /** attempts allowed per window */
  limit: number;
  windowSeconds: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** seconds until the window that blocked the attempt ends (0 when allowed) */
  retryAfterSeconds: number;
}

export interface SignInRateLimiterOptions {
  perUsername: RateLimitRule;
  perIp: RateLimitRule;
  /** how long to wait for Redis before failing open */
  redisTimeoutMs: number;
  onFailOpen: (error: unknown) => void;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class SignInRateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly options: SignInRateLimiterOptions,
  ) {}

  async check(username: string, ip: string): Promise<RateLimitDecision> {
    try {
      return await withTimeout(this.countAttempt(username, ip), this.options.redisTimeoutMs);
    } catch (error) {
      this.options.onFailOpen(error);
      return { allowed: true, retryAfterSeconds: 0 };
    }
  }

  private async countAttempt(username: string, ip: string): Promise<RateLimitDecision> {
    // Right after start the client is still connecting and, without an offline queue, would refuse the
    // command: wait for it (bounded by the caller's timeout). A Redis that is down is 'reconnecting'.
    if (this.redis.status === 'connecting' || this.redis.status === 'connect') {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.redis.off('ready', done);
          resolve();
        };
        const timer = setTimeout(done, this.options.redisTimeoutMs);
        this.redis.once('ready', done);
      });
    }
    const { perUsername, perIp } = this.options;
    // JSON: no username/address pair can collide with another by concatenation
    const userKey = `login:ratelimit:user-ip:${JSON.stringify([username, ip])}`;
    const ipKey = `login:ratelimit:ip:${ip}`;
    // NX: the window starts at the first attempt and is not extended by later ones (fixed window).
    const results = await this.redis
      .multi()
      .incr(userKey)
      .expire(userKey, perUsername.windowSeconds, 'NX')
      .ttl(userKey)
      .incr(ipKey)
      .expire(ipKey, perIp.windowSeconds, 'NX')
      .ttl(ipKey)
      .exec();
    if (!results) throw new Error('redis transaction aborted');
    for (const [err] of results) if (err) throw err;
    const value = (i: number) => Number(results[i]![1]);
    const blocked: number[] = [];
    if (value(0) > perUsername.limit) blocked.push(Math.max(1, value(2)));
    if (value(3) > perIp.limit) blocked.push(Math.max(1, value(5)));
    return blocked.length === 0
      ? { allowed: true, retryAfterSeconds: 0 }
      : { allowed: false, retryAfterSeconds: Math.max(...blocked) };
  }
}
