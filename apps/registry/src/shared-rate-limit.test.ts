import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, freePort, startRegistry, type RegistryProcess, type TestDatabase } from '@sigil/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

// Real registry processes on one PostgreSQL database, counting their rate limits in the Redis
// these machines run (127.0.0.1:6379), each test under a key prefix of its own.
const REDIS = process.env.SIGIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const running: RegistryProcess[] = [];
const dirs: string[] = [];
let pgdb: TestDatabase;
beforeAll(async () => {
  pgdb = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop('SIGKILL')));
});
afterAll(async () => {
  await pgdb.drop();
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const dataDir = (() => {
  let shared: string | undefined;
  // One data directory for the keys (made once, as an operator would), used by every instance.
  return () => {
    shared ??= mkdtempSync(join(tmpdir(), 'sigil-shared-rl-'));
    dirs.push(shared);
    return shared;
  };
})();
async function start(env: Record<string, string>): Promise<RegistryProcess> {
  const r = await startRegistry({ dataDir: dataDir(), env: { SIGIL_DATABASE_URL: pgdb.url, SIGIL_ANONYMOUS_READ: 'true', ...env } });
  running.push(r);
  return r;
}
const prefix = () => `sigil:test:${randomUUID()}:`;
async function statuses(requests: Array<() => Promise<Response>>): Promise<Record<number, number>> {
  const answers = await Promise.all(requests.map(async (send) => {
    const res = await send();
    await res.arrayBuffer();
    return res.status;
  }));
  const counts: Record<number, number> = {};
  for (const s of answers) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}

describe('two registry instances sharing their rate limits in Redis', () => {
  it('let exactly the limit of one address through a concurrent burst spread over both, on either path', async () => {
    // Behind a trusted proxy, so the burst comes from a client address of its own (the start's
    // health checks counted against 127.0.0.1).
    const env = { SIGIL_REDIS_URL: REDIS, SIGIL_REDIS_PREFIX: prefix(), SIGIL_RATE_LIMIT_ADDRESS: '10', SIGIL_TRUSTED_PROXIES: '127.0.0.1' };
    const [a, b] = [await start(env), await start(env)];
    const headers = { 'x-forwarded-for': '203.0.113.7' };
    // Health checks (the Hono app) and server reads (the read hot path first), alternating instances.
    // POST /v1/status too (its own hot path), with a body every path refuses or answers the same.
    const paths = ['/healthz', '/v1/servers/io.github.acme/weather', '/v0.1/servers/io.github.acme%2Fweather/versions/latest', '/v1/status'];
    const post = { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ servers: [{ name: 'io.github.acme/weather', version: '1.0.0', digest: `sha256:${'0'.repeat(64)}` }] }) };
    const burst = Array.from({ length: 36 }, (_, i) => () => fetch(`${(i % 2 ? a : b).url}${paths[i % 4]}`, i % 4 === 3 ? post : { headers }));
    const counts = await statuses(burst);
    expect(counts[429]).toBe(26);
    expect(36 - counts[429]!).toBe(10);
    // Still refused on both, with the time left.
    const refused = await fetch(`${a.url}/healthz`, { headers });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { code: string }).code).toBe('RATE_LIMITED');
  }, 90_000);

  it('let exactly the limit of one token through, whichever instance counts it', async () => {
    const env = { SIGIL_REDIS_URL: REDIS, SIGIL_REDIS_PREFIX: prefix(), SIGIL_RATE_LIMIT_TOKEN: '7' };
    const [a, b] = [await start(env), await start(env)];
    const headers = { authorization: `Bearer ${a.adminToken}` };
    // Reads that authenticate (GET /v1/keys does not), on the read hot path and the Hono app.
    const paths = ['/v1/servers/io.github.acme/weather', '/v1/servers'];
    const counts = await statuses(Array.from({ length: 20 }, (_, i) => () => fetch(`${(i % 2 ? a : b).url}${paths[i % 2]}`, { headers })));
    expect(counts[429]).toBe(13);
    expect((counts[200] ?? 0) + (counts[404] ?? 0)).toBe(7);
  }, 90_000);
});

/** A TCP relay to the real Redis that the test can cut and restore, so an outage touches no one else's Redis. */
async function relay(port: number): Promise<{ cut(): Promise<void>; restore(): Promise<void> }> {
  const target = new URL(REDIS);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = () =>
    new Promise<void>((ok) => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port || 6379), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', () => {});
          s.on('close', () => {
            sockets.delete(s);
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', ok);
    });
  await listen();
  return {
    cut: () =>
      new Promise<void>((ok) => {
        server!.close(() => ok());
        for (const s of sockets) s.destroy();
      }),
    restore: listen,
  };
}

describe('when the shared rate-limit store cannot be reached', () => {
  it('refuses to start, with a code and a sentence', async () => {
    const port = await freePort();
    await expect(start({ SIGIL_REDIS_URL: `redis://127.0.0.1:${port}` })).rejects.toThrow(
      new RegExp(`sigil-registry: error REDIS_UNREACHABLE: cannot reach the rate-limit store at redis://127\\.0\\.0\\.1:${port}.*; start Redis or correct SIGIL_REDIS_URL`),
    );
  }, 60_000);

  it('refuses every request while it is away (503 RATE_LIMIT_UNAVAILABLE, never uncounted), and counts again once it is back', async () => {
    const port = await freePort();
    const redis = await relay(port);
    const r = await start({ SIGIL_REDIS_URL: `redis://127.0.0.1:${port}`, SIGIL_REDIS_PREFIX: prefix(), SIGIL_RATE_LIMIT_ADDRESS: '1000' });
    expect((await fetch(`${r.url}/healthz`)).status).toBe(200);
    await redis.cut();
    const statusRequest = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ servers: [] }) };
    for (const [path, init] of [['/healthz'], ['/readyz'], ['/v1/servers/io.github.acme/weather'], ['/v1/keys'], ['/v1/status', statusRequest]] as const) {
      const res = await fetch(`${r.url}${path}`, init);
      expect([path, res.status, res.headers.get('retry-after')]).toEqual([path, 503, '1']);
      expect(((await res.json()) as { code: string }).code).toBe('RATE_LIMIT_UNAVAILABLE');
    }
    await redis.restore();
    // The client reconnects in the background (at most a second apart): poll until it has.
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await fetch(`${r.url}/healthz`)).status;
      if (status !== 200) await new Promise((ok) => setTimeout(ok, 100));
    }
    expect(status).toBe(200);
    await redis.cut();
  }, 90_000);

  it('is required on PostgreSQL unless counting in each instance is chosen', async () => {
    await expect(startRegistry({ dataDir: dataDir(), env: { SIGIL_DATABASE_URL: pgdb.url, SIGIL_RATE_LIMIT_STORE: '' } })).rejects.toThrow(/error RATE_LIMIT_STORE_REQUIRED: on PostgreSQL several instances would each count the rate limits alone/);
    await expect(start({ SIGIL_RATE_LIMIT_STORE: 'redis' })).rejects.toThrow(/error CONFIG_INVALID: invalid setting SIGIL_RATE_LIMIT_STORE: redis needs SIGIL_REDIS_URL/);
    running.push(await start({ SIGIL_RATE_LIMIT_STORE: 'local' }));
  }, 60_000);
});
