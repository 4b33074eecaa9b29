import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

/**
 * Failed authentications (no audit row: they change nothing, and a flood of them must not grow
 * the fsync'd governance chain). Each is counted in `sigil_auth_failures_total{reason}` at once,
 * and logged as one line per reason and source address per interval, with the count.
 */
export class AuthFailureLog {
  private counts = new Map<string, { reason: string; source: string; count: number }>();
  private since = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly intervalMs = 60_000,
    /** Most distinct (reason, source) pairs kept per interval; the rest are counted under `other`. */
    private readonly maxSources = 10_000,
  ) {}

  record(reason: string, source: string): void {
    this.metrics.authFailures.inc({ reason });
    let key = `${reason} ${source}`;
    if (!this.counts.has(key) && this.counts.size >= this.maxSources) key = `${reason} other`;
    const entry = this.counts.get(key) ?? { reason, source: key.endsWith(' other') ? 'other' : source, count: 0 };
    entry.count++;
    this.counts.set(key, entry);
    // One timer per interval with failures, unref'd so it never keeps the process alive.
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs).unref();
  }

  /** Writes one line per reason and source seen since the last flush. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const until = Date.now();
    for (const e of this.counts.values()) {
      this.logger.warn({ authFailures: { reason: e.reason, source: e.source, count: e.count, since: new Date(this.since).toISOString(), until: new Date(until).toISOString() } }, 'authentication failures');
    }
    this.counts = new Map();
    this.since = until;
  }
}
