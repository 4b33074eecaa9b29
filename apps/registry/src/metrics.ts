import { Counter, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one app instance (a registry per instance, so tests do not share counters). */
export interface Metrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  latency: Histogram<'method' | 'route'>;
  publishes: Counter;
  refusals: Counter<'code'>;
  /** Failed authentications by reason (malformed, unknown, expired, revoked, missing). */
  authFailures: Counter<'reason'>;
  /** Counts one answered request and its latency (`requests` and `latency` above). */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const requests = new Counter({ name: 'sigil_http_requests_total', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const latency = new Histogram({
    name: 'sigil_http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  // prom-client hashes the label object on every inc() and observe(); the children of the
  // label sets seen are kept instead (bounded: methods, route patterns and statuses are few).
  const children = new Map<string, { count: Counter.Internal; time: Histogram.Internal<'method' | 'route'> }>();
  return {
    registry,
    requests,
    latency,
    observeRequest(method, route, status, seconds) {
      const key = `${method} ${status} ${route}`;
      let child = children.get(key);
      if (!child) {
        child = { count: requests.labels({ method, route, status: String(status) }), time: latency.labels({ method, route }) };
        if (children.size < 10_000) children.set(key, child);
      }
      child.count.inc();
      child.time.observe(seconds);
    },
    publishes: new Counter({ name: 'sigil_publishes_total', help: 'Versions published', registers: [registry] }),
    refusals: new Counter({ name: 'sigil_refusals_total', help: 'Refused requests by error code', labelNames: ['code'], registers: [registry] }),
    authFailures: new Counter({ name: 'sigil_auth_failures_total', help: 'Failed authentications by reason', labelNames: ['reason'], registers: [registry] }),
  };
}
