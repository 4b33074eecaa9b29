import { createHash } from 'node:crypto';
import type { createClient } from '@redis/client';
import { ServiceError } from './errors.js';
import type { Limiter } from './rate-limit.js';

/**
 * One fixed window per key, as the in-process RateLimiter counts it, in Redis: the first hit
 * starts the window (PEXPIRE), every hit adds one, and the count and the time left come back in
 * the same round trip. Redis runs a script alone, so concurrent hits from any number of
 * instances are counted exactly.
 */
const SCRIPT = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if n == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`;
const SHA = createHash('sha1').update(SCRIPT).digest('hex');

/** A command that takes longer than this counts as the store being unreachable. */
const COMMAND_TIMEOUT_MS = 500;

type Client = ReturnType<typeof createClient>;

/** The shared counters: one Redis connection for every limiter of the instance. */
export interface RedisCounters {
  limiter(name: string, limit: number, windowMs?: number): Limiter;
  close(): Promise<void>;
}

/** Redis is unreachable: every count is refused, never skipped (fail closed). */
function unavailable(cause: unknown): ServiceError {
  return new ServiceError('RATE_LIMIT_UNAVAILABLE', 'the rate-limit store does not answer, so no request can be counted; retry shortly', { retryAfter: 1 }, { cause });
}

/**
 * Connects to `url` (refusing when it cannot be reached within a few seconds), then counts under
 * `prefix`. A connection lost later is retried in the background; meanwhile every count is
 * refused at once with RATE_LIMIT_UNAVAILABLE (503), none is queued or let through.
 */
export async function connectRedisCounters(url: string, prefix: string, onError: (e: Error) => void = () => {}): Promise<RedisCounters> {
  let connected = false;
  // The Redis client only when a Redis URL is configured: its 27 modules were a seventh of every
  // registry start.
  const { createClient } = await import('@redis/client');
  const client: Client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 3_000,
      // The first connection fails the start; a lost one is tried again every second at most.
      reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(50 * 2 ** retries, 1_000) : cause),
    },
  });
  client.on('error', (e: Error) => {
    if (connected) onError(e);
  });
  await client.connect();
  connected = true;

  async function count(key: string, windowMs: number): Promise<[number, number]> {
    try {
      return (await client.sendCommand(['EVALSHA', SHA, '1', key, String(windowMs)], { timeout: COMMAND_TIMEOUT_MS })) as [number, number];
    } catch (e) {
      if (!(e instanceof Error && e.message.startsWith('NOSCRIPT'))) throw unavailable(e);
    }
    try {
      return (await client.sendCommand(['EVAL', SCRIPT, '1', key, String(windowMs)], { timeout: COMMAND_TIMEOUT_MS })) as [number, number];
    } catch (e) {
      throw unavailable(e);
    }
  }

  return {
    limiter(name, limit, windowMs = 60_000) {
      return {
        hit(key) {
          const wait = count(`${prefix}${name}:${key}`, windowMs).then(([n, ttl]) => (n > limit ? Math.max(1, Math.ceil(ttl / 1000)) : 0));
          // Marked handled now: a caller may await it only later (fast-status.ts reads the body
          // first), and a rejection nobody had awaited yet would end the process. Every await
          // of it still gets the rejection.
          wait.catch(() => {});
          return wait;
        },
      };
    },
    async close() {
      connected = false;
      if (client.isOpen) await client.close();
    },
  };
}
