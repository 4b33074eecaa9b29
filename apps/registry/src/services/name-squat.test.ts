import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '@sigil/db';
import type { Manifest } from '@sigil/manifest';
import { createSigner, generateKeyPair, signManifestStatement, type KeyPair } from '@sigil/signing/sign';
import { createTestStore, filesystemManifest, type TestStore } from '@sigil/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../app.js';
import { DEFAULT_SETTINGS } from '../config.js';
import type { Deps } from '../deps.js';
import { loadRegistryKeys } from '../keys.js';
import { createLinter } from '../linter.js';
import { createMetrics } from '../metrics.js';
import { bootstrapAdmin, createToken } from './create-token.js';

// Name squatting: the first publisher of a look-alike name holds it, and the real owner is then
// refused NAME_CONFUSABLE. The allowlist confines who can try (a signer an admin allowed in that
// namespace, or in a look-alike namespace an admin allowed); the review decides the rest: a
// server whose every version was rejected holds no name.
const dir = mkdtempSync(join(tmpdir(), 'sigil-squat-'));
let store: TestStore;
let database: Store;
let app: App;
const ADMIN = 'squat-test-admin-token-0000000000';
const keys = { acme: generateKeyPair(), mallory: generateKeyPair() };
const t = {} as Record<'acme' | 'mallory' | 'alice', string>;

const send = async (path: string, token: string, method: string, body?: unknown): Promise<{ status: number; code?: string; body: Record<string, unknown> }> => {
  const res = await app.request(path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const json = (await res.json()) as Record<string, unknown>;
  return { status: res.status, ...(typeof json.code === 'string' ? { code: json.code } : {}), body: json };
};
const publish = async (manifest: Manifest, key: KeyPair, token: string) => send('/v1/publish', token, 'POST', { manifest, bundle: await signManifestStatement(manifest, createSigner({ privateKey: key.privateKeyPem })) });
const reject = (name: string, version: string) => send(`/v1/servers/${name}/versions/${version}/rejections`, t.alice, 'POST', { reason: 'a look-alike of io.github.acme/filesystem' });

beforeAll(async () => {
  store = await createTestStore(dir);
  database = await openStore(store);
  const deps: Deps = { db: database.db, keys: await loadRegistryKeys(join(dir, 'keys')), settings: DEFAULT_SETTINGS, logger: pino({ level: 'silent' }), metrics: createMetrics(), linter: createLinter() };
  await bootstrapAdmin(deps, ADMIN);
  app = createApp(deps);
  const admin = { name: 'admin', role: 'admin' as const, namespaces: [], tokenId: null };
  // Two publishers an admin let into the same namespace, each with a key of its own.
  t.acme = (await createToken(deps, admin, { principal: 'acme-ci', role: 'publisher', namespaces: ['io.github.acme'] })).token;
  t.mallory = (await createToken(deps, admin, { principal: 'mallory-ci', role: 'publisher', namespaces: ['io.github.acme'] })).token;
  t.alice = (await createToken(deps, admin, { principal: 'alice', role: 'security' })).token;
  expect((await send('/v1/allowlist/io.github.acme', ADMIN, 'PUT', { signers: [{ publicKey: keys.acme.publicKeyPem }, { publicKey: keys.mallory.publicKeyPem }] })).status).toBe(200);
});
afterAll(async () => {
  await database?.close();
  await store?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('when a co-tenant of the namespace publishes a look-alike name first', () => {
  const squat = filesystemManifest({ name: 'io.github.acme/fi1esystem', version: '1.0.0' });
  const real = filesystemManifest({ name: 'io.github.acme/filesystem', version: '1.0.0' });

  it('holds the name while its version waits for review: the real owner is refused NAME_CONFUSABLE', async () => {
    expect((await publish(squat, keys.mallory, t.mallory)).status).toBe(201);
    expect(await publish(real, keys.acme, t.acme)).toMatchObject({ status: 422, code: 'NAME_CONFUSABLE' });
  });

  it('holds nothing once every version of it was rejected: the real owner publishes', async () => {
    expect((await reject(squat.name, '1.0.0')).status).toBe(201);
    expect((await publish(real, keys.acme, t.acme)).status).toBe(201);
  });

  it('is checked again like a new name when its publisher tries another version', async () => {
    expect(await publish({ ...squat, version: '1.0.1' }, keys.mallory, t.mallory)).toMatchObject({ status: 422, code: 'NAME_CONFUSABLE' });
  });

  it('still shows reviewers a look-alike of a rejected name, as a warning (high risk)', async () => {
    const rejected = filesystemManifest({ name: 'io.github.acme/notes', version: '1.0.0' });
    expect((await publish(rejected, keys.acme, t.acme)).status).toBe(201);
    expect((await reject(rejected.name, '1.0.0')).status).toBe(201);
    const lookalike = await publish(filesystemManifest({ name: 'io.github.acme/n0tes', version: '1.0.0' }), keys.mallory, t.mallory);
    expect(lookalike.status).toBe(201);
    const review = await send('/v1/servers/io.github.acme/n0tes/versions/1.0.0/review', t.alice, 'GET');
    expect(review.body.risk).toBe('high');
    expect(review.body.findings).toEqual(expect.arrayContaining([expect.objectContaining({ rule: 'NAME_CONFUSABLE', severity: 'warning', excerpt: 'io.github.acme/notes' })]));
  });
});
