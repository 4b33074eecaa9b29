import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema, settingsFrom } from './config.js';
import { fastReads } from './fast-reads.js';
import { openPairedWorld, type PairedWorld } from './paired-listeners.fixture.js';
import { publicUrlProblem } from './public-origin.js';

// The URLs the v0.1 answers name (`record`, `statusUrl`): hosts follow them with their tokens,
// so they must be the registry's public https origin behind a TLS-terminating proxy, and never a
// Host a client made up (docs/deploy.md, "Behind a reverse proxy").
const ADMIN = 'public-origin-test-admin-token-00';
const NAME = 'io.github.acme/weather';
const LATEST = `/v0.1/servers/${encodeURIComponent(NAME)}/versions/latest`; // answered by fast-reads.ts
const VERSIONS = `/v0.1/servers/${encodeURIComponent(NAME)}/versions`; // answered by the Hono route
let world: PairedWorld;
let reader: string;

beforeAll(async () => {
  world = await openPairedWorld(fastReads, 'sigil-origin-', ADMIN);
  reader = world.tokens.reader;
});
afterAll(() => world?.close());

/** The registry URLs an answer names (`record`, `statusUrl`), from its raw text. */
async function urls(base: string, path: string, headers: Record<string, string>): Promise<string[]> {
  const body = await new Promise<string>((ok, fail) => {
    const req = request(new URL(path, base), { headers: { authorization: `Bearer ${reader}`, ...headers }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? ok(text) : fail(new Error(`${res.statusCode}: ${text}`))));
    });
    req.on('error', fail);
    req.end();
  });
  // The registry's own URLs (its /v1 routes), not those the manifests carry.
  const found = [...body.matchAll(/"(https?:\/\/[^"/]+\/v1\/[^"]*)"/g)].map((m) => m[1]!);
  expect(found.length).toBeGreaterThan(0);
  return found;
}

const origins = (xs: string[]) => [...new Set(xs.map((u) => new URL(u).origin))];

describe('the origin of the URLs in v0.1 answers', () => {
  it('is the request Host over http, and ignores X-Forwarded-Proto from a peer that is not a trusted proxy', async () => {
    for (const side of [world.fast, world.hono]) {
      for (const path of [LATEST, VERSIONS]) {
        expect(origins(await urls(side.url, path, { host: 'registry.example', 'x-forwarded-proto': 'https' }))).toEqual(['http://registry.example']);
      }
    }
  });

  it('is https when a trusted proxy says X-Forwarded-Proto: https (its own last value), on the fast path and the Hono route alike', async () => {
    const side = await world.side({ trustedProxies: ['127.0.0.1', '::1'] });
    for (const path of [LATEST, VERSIONS]) {
      expect(origins(await urls(side.url, path, { host: 'registry.example', 'x-forwarded-proto': 'https' }))).toEqual(['https://registry.example']);
      expect(origins(await urls(side.url, path, { host: 'registry.example', 'x-forwarded-proto': 'http, https' }))).toEqual(['https://registry.example']);
      expect(origins(await urls(side.url, path, { host: 'registry.example', 'x-forwarded-proto': 'https, http' }))).toEqual(['http://registry.example']);
    }
  });

  it('is SIGIL_PUBLIC_URL when it is set, whatever Host or X-Forwarded-Proto the request carries', async () => {
    const side = await world.side({ publicOrigin: 'https://registry.example', trustedProxies: ['127.0.0.1', '::1'] });
    for (const path of [LATEST, VERSIONS]) {
      for (const headers of [{ host: 'attacker.example' }, { host: 'attacker.example', 'x-forwarded-proto': 'http' }, {}] as Record<string, string>[]) {
        const found = await urls(side.url, path, headers);
        expect(origins(found)).toEqual(['https://registry.example']);
      }
    }
  });
});

describe('SIGIL_PUBLIC_URL', () => {
  it('takes an https origin, or http for a loopback host, as an origin without a trailing slash', () => {
    for (const [url, origin] of [
      ['https://registry.example', 'https://registry.example'],
      ['https://registry.example:8443/', 'https://registry.example:8443'],
      ['HTTPS://Registry.Example', 'https://registry.example'],
      ['http://localhost:3000', 'http://localhost:3000'],
      ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
      ['http://[::1]:8080', 'http://[::1]:8080'],
    ] as const) {
      expect(publicUrlProblem(url), url).toBeUndefined();
      expect(settingsFrom(ConfigSchema.parse({ SIGIL_PUBLIC_URL: url })).publicOrigin).toBe(origin);
    }
    expect(settingsFrom(ConfigSchema.parse({})).publicOrigin).toBeUndefined();
  });

  it('refuses a URL hosts could be sent to in cleartext, or one with more than an origin', () => {
    for (const url of ['http://registry.example', 'registry.example', 'ftp://registry.example', 'https://registry.example/sigil', 'https://registry.example/?x=1', 'https://registry.example/#a', 'https://user:pw@registry.example', 'https://registry.example?', 'http://localhost.attacker.example']) {
      expect(publicUrlProblem(url), url).toBeDefined();
      const parsed = ConfigSchema.safeParse({ SIGIL_PUBLIC_URL: url });
      expect(parsed.success, url).toBe(false);
      expect(JSON.stringify(parsed.error?.issues.map((i) => i.path))).toContain('SIGIL_PUBLIC_URL');
    }
  });
});
