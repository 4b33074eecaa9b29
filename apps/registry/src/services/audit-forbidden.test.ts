import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, verifyAuditChain, type Store } from '@sigil/db';
import { createTestStore, type TestStore } from '@sigil/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../app.js';
import { DEFAULT_SETTINGS } from '../config.js';
import type { Deps } from '../deps.js';
import { loadRegistryKeys } from '../keys.js';
import { createLinter } from '../linter.js';
import { createMetrics } from '../metrics.js';
import { FORBIDDEN_WINDOW_MS, flushForbidden } from './audit-forbidden.js';
import { createToken } from './create-token.js';

// A token whose role forbids a route, sending it over and over: every refusal stays in the audit
// trail (principal, subject, how many), but it no longer costs one durable commit each.
const dir = mkdtempSync(join(tmpdir(), 'sigil-forbidden-'));
let store: TestStore;
let database: Store;
let deps: Deps;
let app: App;
let clock = new Date('2026-12-01T03:00:00.000Z');
const ADMIN = { name: 'admin', role: 'admin' as const, namespaces: [], tokenId: null };
const tokens = {} as Record<'flooder' | 'other' | 'racer', string>;

beforeAll(async () => {
  store = await createTestStore(dir);
  database = await openStore(store);
  deps = { db: database.db, keys: await loadRegistryKeys(join(dir, 'keys')), settings: DEFAULT_SETTINGS, logger: pino({ level: 'silent' }), metrics: createMetrics(), linter: createLinter(), now: () => clock };
  app = createApp(deps);
  for (const name of ['flooder', 'other', 'racer'] as const) tokens[name] = (await createToken(deps, ADMIN, { principal: name, role: 'reader' })).token;
});
afterAll(async () => {
  await database?.close();
  await store?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** A reader listing tokens (admin only): 403. */
async function refused(token: string): Promise<void> {
  const res = await app.request('/v1/tokens', { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(403);
  expect(((await res.json()) as { code: string }).code).toBe('FORBIDDEN');
}
async function rows(actor: string): Promise<Array<{ action: string; subject: string; details: Record<string, unknown> }>> {
  const all = await database.raw.all<{ action: string; subject: string; details: string }>('select action, subject, details from audit_events where actor = ? order by seq', [actor]);
  return all.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
}

describe('when one token is refused over and over', () => {
  it('writes its first refusal at once and counts the rest of the window into one row', async () => {
    for (let i = 0; i < 50; i++) await refused(tokens.flooder);
    expect(await rows('flooder')).toEqual([{ action: 'auth.forbidden', subject: 'listing tokens', details: { role: 'reader', needed: ['admin'] } }]);
    // Another principal has a window of its own.
    await refused(tokens.other);
    expect((await rows('other')).map((r) => r.action)).toEqual(['auth.forbidden']);
    // The window over, the next refusal writes the count of the last one, then itself.
    clock = new Date(clock.getTime() + FORBIDDEN_WINDOW_MS);
    await refused(tokens.flooder);
    const written = await rows('flooder');
    expect(written.map((r) => r.action)).toEqual(['auth.forbidden', 'auth.forbidden.repeated', 'auth.forbidden']);
    expect(written[1]!.details).toMatchObject({ count: 49, subjects: { 'listing tokens': 49 } });
    expect(await verifyAuditChain(deps.db)).toMatchObject({ ok: true });
  });

  it('lets only one of many concurrent refusals be the window’s first', async () => {
    await Promise.all(Array.from({ length: 20 }, () => refused(tokens.racer)));
    expect((await rows('racer')).map((r) => r.action)).toEqual(['auth.forbidden']);
    // Stopping the registry writes what is counted (main.ts calls this before closing the database).
    await flushForbidden(deps);
    const written = await rows('racer');
    expect(written.map((r) => r.action)).toEqual(['auth.forbidden', 'auth.forbidden.repeated']);
    expect(written[1]!.details).toMatchObject({ count: 19 });
    await flushForbidden(deps);
    expect(await rows('racer')).toHaveLength(2);
  });
});
