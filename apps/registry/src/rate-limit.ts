/**
 * Counts one request under a key; answers the seconds to wait when over the limit, else 0. In
 * process (RateLimiter) the count is synchronous; a shared store (shared-rate-limit.ts) answers
 * a promise, which rejects with RATE_LIMIT_UNAVAILABLE when the store cannot count.
 */
export interface Limiter {
  hit(key: string): number | Promise<number>;
}

/**
 * Fixed-window request counters per key (token or client address), bounded in memory: at most
 * `maxKeys` keys are tracked; the oldest windows are dropped first.
 */
export class RateLimiter implements Limiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  constructor(
    private readonly limit: number,
    private readonly windowMs = 60_000,
    private readonly maxKeys = 100_000,
  ) {}

  /** Counts one request; returns the seconds to wait when over the limit, else 0. */
  hit(key: string, now = Date.now()): number {
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      this.windows.delete(key);
      w = { start: now, count: 0 };
      this.windows.set(key, w);
      if (this.windows.size > this.maxKeys) this.windows.delete(this.windows.keys().next().value as string);
    }
    w.count++;
    return w.count > this.limit ? Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000)) : 0;
  }

  /** Whether one more request under `key` would be within the limit, counting nothing. */
  allows(key: string, now = Date.now()): boolean {
    const w = this.windows.get(key);
    return !w || now - w.start >= this.windowMs || w.count < this.limit;
  }
}
