import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';

/** Requests as the app observes them: method, route, status, seconds (on, between and beyond the bucket bounds). */
const OBSERVED: Array<[string, string, number, number]> = [
  ['GET', '/v1/servers/:namespace/:name/versions/:version', 200, 0.0004],
  ['GET', '/v1/servers/:namespace/:name/versions/:version', 200, 0.001],
  ['GET', '/v1/servers/:namespace/:name/versions/:version', 404, 0.0031],
  ['GET', '/v1/servers/:namespace/:name', 200, 0.25],
  ['POST', '/v1/publish', 201, 0.7],
  ['POST', '/v1/publish', 422, 3.5],
  ['GET', 'unmatched', 404, 0],
];

/** The same metrics made by prom-client's own Counter and Histogram, as the registry made them before. */
function reference(observed: typeof OBSERVED): Registry {
  const registry = new Registry();
  const requests = new Counter({ name: 'sigil_http_requests_total', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const latency = new Histogram({
    name: 'sigil_http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  for (const [method, route, status, seconds] of observed) {
    requests.inc({ method, route, status: String(status) });
    latency.observe({ method, route }, seconds);
  }
  return registry;
}

describe('request metrics', () => {
  it('writes the lines prom-client writes for the same requests, counted before and after a scrape', async () => {
    const metrics = createMetrics();
    const half = OBSERVED.length >> 1;
    for (const [method, route, status, seconds] of OBSERVED.slice(0, half)) metrics.observeRequest(method, route, status, seconds);
    const before = reference(OBSERVED.slice(0, half));
    for (const name of ['sigil_http_requests_total', 'sigil_http_request_duration_seconds']) {
      expect(await metrics.registry.getSingleMetricAsString(name)).toBe(await before.getSingleMetricAsString(name));
    }
    for (const [method, route, status, seconds] of OBSERVED.slice(half)) metrics.observeRequest(method, route, status, seconds);
    const after = reference(OBSERVED);
    for (const name of ['sigil_http_requests_total', 'sigil_http_request_duration_seconds']) {
      expect(await metrics.registry.getSingleMetricAsString(name)).toBe(await after.getSingleMetricAsString(name));
    }
    // The whole exposition too: the same metrics in the same order.
    const whole = await metrics.registry.metrics();
    expect(whole.indexOf('sigil_http_requests_total')).toBeLessThan(whole.indexOf('sigil_http_request_duration_seconds'));
    expect(whole).toContain(await after.getSingleMetricAsString('sigil_http_request_duration_seconds'));
  });

  it('adds the requests of an observer made once to the same lines as observeRequest', async () => {
    const metrics = createMetrics();
    // An observer made before and one after the label set was first seen, then both ways mixed.
    const version = metrics.observer('GET', '/v1/servers/:namespace/:name/versions/:version', 200);
    for (const [i, [method, route, status, seconds]] of OBSERVED.entries()) {
      if (i % 2 === 0) metrics.observer(method, route, status)(seconds);
      else metrics.observeRequest(method, route, status, seconds);
    }
    version(0.02);
    metrics.observeRequest('GET', '/v1/servers/:namespace/:name/versions/:version', 200, 0.02);
    const all = reference([...OBSERVED, ['GET', '/v1/servers/:namespace/:name/versions/:version', 200, 0.02], ['GET', '/v1/servers/:namespace/:name/versions/:version', 200, 0.02]]);
    for (const name of ['sigil_http_requests_total', 'sigil_http_request_duration_seconds']) {
      expect(await metrics.registry.getSingleMetricAsString(name)).toBe(await all.getSingleMetricAsString(name));
    }
  });
});
