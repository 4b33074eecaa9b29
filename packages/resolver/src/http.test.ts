import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResolveError } from './errors.js';
import { fetchJson } from './http.js';
import type { TrustPolicy } from './policy.js';
import { fetchRecords } from './resolve.js';

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/ok') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ hello: 'world' }));
    } else if (req.url === '/huge') {
      // 50 MB, streamed without a content-length, so only the reader's bound can stop it.
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const push = (): void => {
        while (sent < 50) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', push);
        }
        res.end();
      };
      push();
    } else if (req.url === '/declared') {
      res.setHeader('content-length', String(50 * 1024 * 1024));
      res.write('{');
    } else if (req.url === '/silent') {
      // never answers
    } else if (req.url === '/redirect') {
      // Another origin, as a captive portal or a man in the middle would send.
      res.writeHead(307, { location: 'http://127.0.0.1:1/elsewhere', 'x-request-id': 'req-307' });
      res.end(JSON.stringify({ code: 'MOVED' }));
    } else if (req.url === '/v1/servers/io.github.acme/twice/versions/1.0.0') {
      // A record whose two "name" keys read two ways (JSON.parse keeps the last).
      res.end('{"name":"io.github.acme/twice","version":"1.0.0","name":"io.github.acme/other"}');
    } else if (req.url === '/deep') {
      res.end('['.repeat(10_000) + ']'.repeat(10_000));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    expect(e).toBeInstanceOf(ResolveError);
    return (e as ResolveError).code;
  }
}

describe('fetchJson', () => {
  it('returns the exact bytes and the parsed body', async () => {
    const r = await fetchJson(`${base}/ok`, {});
    expect(r.status).toBe(200);
    expect(new TextDecoder().decode(r.bytes)).toBe('{"hello":"world"}');
    expect(r.json).toEqual({ hello: 'world' });
  });

  it('refuses a 50 MB answer with RESPONSE_TOO_LARGE', async () => {
    expect(await codeOf(fetchJson(`${base}/huge`, {}, { maxBytes: 2 * 1024 * 1024, timeoutMs: 10_000 }))).toBe('RESPONSE_TOO_LARGE');
  });

  it('refuses a declared oversize answer before reading it', async () => {
    expect(await codeOf(fetchJson(`${base}/declared`, {}, { maxBytes: 1024, timeoutMs: 5_000 }))).toBe('RESPONSE_TOO_LARGE');
  });

  it('gives up on a registry that never answers, within the bound', async () => {
    const started = Date.now();
    expect(await codeOf(fetchJson(`${base}/silent`, {}, { maxBytes: 1024, timeoutMs: 300 }))).toBe('REGISTRY_UNREACHABLE');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports a closed port as REGISTRY_UNREACHABLE', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    expect(await codeOf(fetchJson(`http://127.0.0.1:${port}/`, {}))).toBe('REGISTRY_UNREACHABLE');
  });

  it('returns a redirect as the answer it is: not followed, never REGISTRY_UNREACHABLE', async () => {
    // An answer is never a network failure: one treated as unreachable may fall back to the
    // stored status, so whoever can answer 3xx could keep a revoked version starting.
    const r = await fetchJson(`${base}/redirect`, { token: 'sgl_secret' });
    expect(r.status).toBe(307);
    expect(r.requestId).toBe('req-307');
  });

  it('never sends a token in clear text to another machine (TOKEN_INSECURE), and sends it to a loopback address', async () => {
    // 192.0.2.1 (TEST-NET-1) would never answer: the refusal comes before any connection.
    for (const url of ['http://192.0.2.1:8787/v1/keys', 'http://registry.example/v1/keys', 'http://127.0.0.1.example/v1/keys']) {
      expect(await codeOf(fetchJson(url, { token: 'sgl_secret' }, { maxBytes: 1024, timeoutMs: 60_000 }))).toBe('TOKEN_INSECURE');
    }
    expect((await fetchJson(`${base}/ok`, { token: 'sgl_secret' })).status).toBe(200);
    expect((await fetchJson(`${base.replace('127.0.0.1', 'localhost')}/ok`, { token: 'sgl_secret' })).status).toBe(200);
  });

  it('does not parse an answer nested past the bound', async () => {
    const r = await fetchJson(`${base}/deep`, {});
    expect(r.json).toBeUndefined();
  });

  it('says why an answer was not parsed: a key given twice is named, with where it is', async () => {
    const r = await fetchJson(`${base}/v1/servers/io.github.acme/twice/versions/1.0.0`, {});
    expect(r.json).toBeUndefined();
    const [record] = await fetchRecords({ policy: { registryUrl: base } as TrustPolicy }, [{ name: 'io.github.acme/twice', version: '1.0.0' }]);
    expect(record).toBeInstanceOf(ResolveError);
    expect((record as ResolveError).code).toBe('RESPONSE_INVALID');
    expect((record as ResolveError).message).toContain('/name');
    expect((record as ResolveError).message).toContain('"name" appears twice');
    expect((record as ResolveError).message).not.toContain('nesting bound');
  });
});
