import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BodyTooLargeError, cappedFetch } from './capped-fetch.js';

// A real HTTP server on 127.0.0.1: /bytes/<n> answers n bytes, /empty answers 204, /odd 999.
let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/empty') return void res.writeHead(204).end();
    if (req.url === '/odd') return void res.writeHead(999).end('odd');
    const n = Number(/^\/bytes\/(\d+)$/.exec(req.url ?? '')?.[1] ?? 0);
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(Buffer.alloc(n, 0x61));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('cappedFetch', () => {
  it('passes a body up to the cap whole, with its status, headers and URL', async () => {
    const seen: BodyTooLargeError[] = [];
    const response = await cappedFetch(1000, (e) => seen.push(e))(`${base}/bytes/1000`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(response.url).toBe(`${base}/bytes/1000`);
    expect((await response.text()).length).toBe(1000);
    expect(seen).toEqual([]);
  });

  it('ends a body past the cap in BodyTooLargeError, and says so once', async () => {
    const seen: BodyTooLargeError[] = [];
    const response = await cappedFetch(1000, (e) => seen.push(e))(`${base}/bytes/5000000`);
    await expect(response.text()).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(seen.length).toBe(1);
    expect(seen[0]!.maxBytes).toBe(1000);
  });

  it('returns a response whose status a Response cannot be built with as it is, not an error', async () => {
    const response = await cappedFetch(10, () => undefined)(`${base}/odd`);
    expect(response.status).toBe(999);
  });

  it('returns a response without a body as it is', async () => {
    const response = await cappedFetch(10, () => undefined)(`${base}/empty`);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
  });
});
