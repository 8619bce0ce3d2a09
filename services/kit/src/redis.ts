// Redis client for a cell. Lazy connect + no offline queue: a dead Redis must neither crash the
// start nor turn into silent latency (docs/facts.md, "A client's offline queue").
import { Redis } from 'ioredis';

export function createRedis(redisUrl: string): Redis {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1_000,
    commandTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  });
  redis.on('error', () => {}); // reconnects on its own; readiness reports the state
  redis.connect().catch(() => {});
  return redis;
}
