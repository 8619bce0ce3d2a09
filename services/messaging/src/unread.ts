// Unread counts per user and room, in Redis (losing them in a failover costs a badge, not data).
// Two counters per room: how many messages were ever posted, and how many of them each user has seen.
// Posting bumps both the room's counter and the author's own marker, so your own messages never count
// as unread; listing a room's messages sets your marker to the room's counter.
import type { Redis } from 'ioredis';

const postedKey = (room: string) => `messaging:room:${room}:posted`;
const seenKey = (room: string, user: string) => `messaging:room:${room}:seen:${user}`;

export async function recordPosted(redis: Redis, room: string, author: string): Promise<void> {
  await redis.multi().incr(postedKey(room)).incr(seenKey(room, author)).exec();
}

/** Marks everything posted so far as seen by `user` (atomic: the copy happens inside Redis). */
export async function markRoomRead(redis: Redis, room: string, user: string): Promise<void> {
  await redis.eval(
    "redis.call('SET', KEYS[2], redis.call('GET', KEYS[1]) or '0') return 1",
    2,
    postedKey(room),
    seenKey(room, user),
  );
}

export async function unreadCount(redis: Redis, room: string, user: string): Promise<number> {
  const [posted, seen] = await redis.mget(postedKey(room), seenKey(room, user));
  return Math.max(0, Number(posted ?? 0) - Number(seen ?? 0));
}
