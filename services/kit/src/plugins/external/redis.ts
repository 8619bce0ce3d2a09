// The cell's Redis client (redis.ts says how it behaves when Redis is gone).
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { createRedis } from '../../redis';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis;
  }
}

export const redisPlugin = fp<{ redisUrl: string }>(
  async (app, { redisUrl }) => {
    const redis = createRedis(redisUrl);
    app.decorate('redis', redis);
    app.addHook('onClose', async () => redis.disconnect());
  },
  { name: 'cell-redis' },
);
