import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertServer, openStore, type Store } from '@sigil/db';
import { createTestStore, type TestStore } from '@sigil/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from './app.js';
import { DEFAULT_SETTINGS } from './config.js';
import { loadRegistryKeys } from './keys.js';
import { createLinter } from './linter.js';
import { createMetrics } from './metrics.js';
import { bootstrapAdmin } from './services/create-token.js';

const dir = mkdtempSync(join(tmpdir(), 'sigil-search-'));
const ADMIN = 'search-test-admin-token-00000000';
let store: TestStore;
let database: Store;
let app: App;

beforeAll(async () => {
  store = await createTestStore(dir);
  database = await openStore(store);
  const deps = {
    db: database.db,
    keys: await loadRegistryKeys(join(dir, 'keys')),
    settings: DEFAULT_SETTINGS,
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(),
    linter: createLinter(),
    now: () => new Date('2026-11-24T12:00:00.000Z'),
  };
  await bootstrapAdmin(deps, ADMIN);
  app = createApp(deps);
  // `_` is a legal character in a server name and a LIKE wildcard; `%` is only a wildcard.
  for (const name of ['io.github.acme/a_b', 'io.github.acme/axb', 'io.github.acme/a-b', 'io.github.acme/ab'])
    await insertServer(database.db, { name, namespace: 'io.github.acme', owner: 'acme-ci', createdAt: '2026-11-24T12:00:00.000Z' });
});
afterAll(async () => {
  await database?.close();
  await store?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function search(text: string): Promise<string[]> {
  const res = await app.request(`/v1/servers?search=${encodeURIComponent(text)}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { servers: { name: string }[] };
  return body.servers.map((s) => s.name);
}

describe('when a search contains a LIKE wildcard', () => {
  it('matches "_" literally, not as any one character', async () => {
    expect(await search('a_b')).toEqual(['io.github.acme/a_b']);
    expect(await search('_')).toEqual(['io.github.acme/a_b']);
  });

  it('matches "%" literally, so it finds nothing in names that cannot contain it', async () => {
    expect(await search('%')).toEqual([]);
    expect(await search('a%b')).toEqual([]);
    expect(await search('100%')).toEqual([]);
  });

  it('matches a backslash literally too', async () => {
    expect(await search('a\\_b')).toEqual([]);
    expect(await search('\\')).toEqual([]);
  });

  it('still matches plain text as a substring', async () => {
    expect(await search('acme/a')).toEqual(['io.github.acme/a-b', 'io.github.acme/a_b', 'io.github.acme/ab', 'io.github.acme/axb']);
  });
});

describe('a server without versions', () => {
  it('is answered with no versions, and an unknown one is NOT_FOUND', async () => {
    const read = async (path: string) => {
      const res = await app.request(path, { headers: { authorization: `Bearer ${ADMIN}` } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect(await read('/v1/servers/io.github.acme/ab')).toEqual({ status: 200, body: { name: 'io.github.acme/ab', versions: [] } });
    const unknown = await read('/v1/servers/io.github.acme/none');
    expect([unknown.status, unknown.body.code]).toEqual([404, 'NOT_FOUND']);
  });
});
