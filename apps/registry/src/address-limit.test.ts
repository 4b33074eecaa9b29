import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '@sigil/db';
import { createTestStore, type TestStore } from '@sigil/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from './app.js';
import { DEFAULT_SETTINGS } from './config.js';
import type { Deps } from './deps.js';
import { loadRegistryKeys } from './keys.js';
import { createLinter } from './linter.js';
import { createMetrics } from './metrics.js';
import { createToken } from './services/create-token.js';

// Hosts behind one NAT share a client address. The per-address limit is for requests without a
// token that holds; one client there exhausting it must not lock the others' tokens out, and a
// token is then held to its own limit, counted once per request whatever the route.
const dir = mkdtempSync(join(tmpdir(), 'sigil-address-limit-'));
let store: TestStore;
let database: Store;
let deps: Deps;
let app: App;
let reader: string;

beforeAll(async () => {
  store = await createTestStore(dir);
  database = await openStore(store);
  deps = { db: database.db, keys: await loadRegistryKeys(join(dir, 'keys')), settings: { ...DEFAULT_SETTINGS, rateLimitPerAddress: 3, rateLimitPerToken: 4 }, logger: pino({ level: 'silent' }), metrics: createMetrics(), linter: createLinter() };
  app = createApp(deps);
  reader = (await createToken(deps, { name: 'admin', role: 'admin', namespaces: [], tokenId: null }, { principal: 'host-behind-nat', role: 'reader' })).token;
});
afterAll(async () => {
  await database?.close();
  await store?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const get = async (path: string, token?: string): Promise<{ status: number; code?: string; message?: string }> => {
  const res = await app.request(path, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { code?: string; detail?: string };
  return { status: res.status, ...(body.code ? { code: body.code, message: body.detail } : {}) };
};

describe('when one client exhausts its address’s limit', () => {
  it('refuses requests without a token that holds, and lets a valid token through on its own limit', async () => {
    for (let i = 0; i < 3; i++) expect((await get('/healthz')).status).toBe(200);
    expect(await get('/healthz')).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    // A bad token is refused as the address's request (and counted as an authentication failure).
    expect(await get('/v1/whoami', 'sigil_0000000000000000_not-a-token-at-all-0000')).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(await deps.metrics.registry.getSingleMetricAsString('sigil_auth_failures_total')).toContain('reason="unknown"} 1');
    // The host with a token is not locked out by its neighbour...
    expect((await get('/v1/whoami', reader)).status).toBe(200);
    expect((await get('/v1/servers', reader)).status).toBe(200);
    // ...a public route counts against its token too, once per request...
    expect((await get('/healthz', reader)).status).toBe(200);
    expect((await get('/v1/whoami', reader)).status).toBe(200);
    // ...and past its own limit (4 a minute) it is refused for the token.
    const over = await get('/v1/whoami', reader);
    expect(over).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(over.message).toMatch(/token/);
  });
});
