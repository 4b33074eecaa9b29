import { Counter, Registry, type Metric } from 'prom-client';

/** Prometheus metrics of one app instance (a registry per instance, so tests do not share counters). */
export interface Metrics {
  registry: Registry;
  /** `sigil_http_requests_total` by method, route and status (read through `registry`). */
  requests: Counter<'method' | 'route' | 'status'>;
  publishes: Counter;
  refusals: Counter<'code'>;
  /** Failed authentications by reason (malformed, unknown, expired, revoked, missing). */
  authFailures: Counter<'reason'>;
  /** Counts one answered request and its latency (`sigil_http_requests_total`, `sigil_http_request_duration_seconds`). */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /**
   * {@link observeRequest} for one label set, looked up once: the hot paths make one per route
   * they answer, so a request adds to plain numbers without making and hashing a key.
   * @example const observe = metrics.observer('GET', '/v1/servers', 200); observe(0.0004);
   */
  observer(method: string, route: string, status: number): (seconds: number) => void;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

/** One route's latency histogram, in plain numbers: observations per bucket (the last: above every bound), their sum and count. */
interface Latency {
  labels: { method: string; route: string };
  buckets: Float64Array;
  sum: number;
  count: number;
}

/** What one (method, status, route) adds to: its requests not yet added to the counter, and its route's histogram. */
interface Seen {
  labels: { method: string; route: string; status: string };
  pending: number;
  latency: Latency;
}

/**
 * `sigil_http_request_duration_seconds` as prom-client's Histogram writes it (the same lines,
 * labels and cumulative buckets), from plain numbers: prom-client hashed the label object on
 * every observe(), most of a request's metrics cost.
 */
function latencyMetric(name: string, help: string, routes: () => Iterable<Latency>) {
  return {
    name,
    help,
    type: 'histogram' as const,
    aggregator: 'sum' as const,
    get() {
      const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
      for (const l of routes()) {
        let total = 0;
        LATENCY_BUCKETS.forEach((le, i) => {
          total += l.buckets[i]!;
          values.push({ labels: { le, ...l.labels }, value: total, metricName: `${name}_bucket` });
        });
        values.push({ labels: { le: '+Inf', ...l.labels }, value: l.count, metricName: `${name}_bucket` });
        values.push({ labels: { ...l.labels }, value: l.sum, metricName: `${name}_sum` });
        values.push({ labels: { ...l.labels }, value: l.count, metricName: `${name}_count` });
      }
      return Promise.resolve({ name, help, type: 'histogram' as const, values, aggregator: 'sum' as const });
    },
    reset() {
      for (const l of routes()) {
        l.buckets.fill(0);
        l.sum = 0;
        l.count = 0;
      }
    },
  };
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  // Per request, plain numbers only (observeRequest below); prom-client reads them at scrape time.
  const seen = new Map<string, Seen>();
  const latencies = new Map<string, Latency>();
  const requests = new Counter({
    name: 'sigil_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
    collect() {
      for (const s of seen.values()) {
        if (s.pending === 0) continue;
        this.inc(s.labels, s.pending);
        s.pending = 0;
      }
    },
  });
  registry.registerMetric(latencyMetric('sigil_http_request_duration_seconds', 'HTTP request latency by method and route', () => latencies.values()) as unknown as Metric);
  const latencyOf = (method: string, route: string): Latency => {
    const key = `${method} ${route}`;
    let l = latencies.get(key);
    if (!l) latencies.set(key, (l = { labels: { method, route }, buckets: new Float64Array(LATENCY_BUCKETS.length + 1), sum: 0, count: 0 }));
    return l;
  };
  const seenOf = (method: string, route: string, status: number): Seen => {
    const key = `${method} ${status} ${route}`;
    let s = seen.get(key);
    if (!s) {
      // One entry per label set, as prom-client keeps one per label set (the route is Hono's
      // pattern, never the path).
      s = { labels: { method, route, status: String(status) }, pending: 0, latency: latencyOf(method, route) };
      seen.set(key, s);
    }
    return s;
  };
  return {
    registry,
    requests,
    observeRequest(method, route, status, seconds) {
      observe(seenOf(method, route, status), seconds);
    },
    observer(method, route, status) {
      const s = seenOf(method, route, status);
      return (seconds) => observe(s, seconds);
    },
    publishes: new Counter({ name: 'sigil_publishes_total', help: 'Versions published', registers: [registry] }),
    refusals: new Counter({ name: 'sigil_refusals_total', help: 'Refused requests by error code', labelNames: ['code'], registers: [registry] }),
    authFailures: new Counter({ name: 'sigil_auth_failures_total', help: 'Failed authentications by reason', labelNames: ['reason'], registers: [registry] }),
  };
}

/** Adds one request of `seconds` to its label set's count and its route's histogram. */
function observe(s: Seen, seconds: number): void {
  s.pending++;
  const l = s.latency;
  let i = 0;
  while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
  l.buckets[i]!++;
  l.sum += seconds;
  l.count++;
}
