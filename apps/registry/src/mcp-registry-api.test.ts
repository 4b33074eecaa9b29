import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '@sigil/db';
import { manifestDigest } from '@sigil/manifest';
import { createSigner, generateKeyPair, signApprovalStatement, signManifestStatement } from '@sigil/signing/sign';
import { createTestStore, type TestStore, weatherManifest } from '@sigil/testing';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from './app.js';
import { DEFAULT_SETTINGS } from './config.js';
import { loadRegistryKeys } from './keys.js';
import { createLinter } from './linter.js';
import { createMetrics } from './metrics.js';
import { bootstrapAdmin, createToken } from './services/create-token.js';
import { SIGIL_META_KEY } from './services/read-mcp-registry.js';

const dir = mkdtempSync(join(tmpdir(), 'sigil-v01-'));
const ADMIN = 'mcp-registry-test-admin-token-000';
const NAME = 'io.github.acme/weather';
const ENCODED = encodeURIComponent(NAME);
let store: TestStore;
let database: Store;
let app: App;
let publish: (manifest: ReturnType<typeof weatherManifest>) => Promise<{ status: number; body: { code?: string; risk?: string } }>;

// The official registry's OpenAPI document, vendored with its licence (test/official-mcp-registry).
const official = JSON.parse(readFileSync(new URL('../test/official-mcp-registry/openapi.json', import.meta.url), 'utf8')) as { components: { schemas: Record<string, unknown> } };
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
ajv.addSchema({ $id: 'official', components: official.components });
const serverList = ajv.getSchema('official#/components/schemas/ServerList')!;
const serverResponse = ajv.getSchema('official#/components/schemas/ServerResponse')!;

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await app.request(path, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

beforeAll(async () => {
  store = await createTestStore(dir);
  database = await openStore(store);
  const deps = { db: database.db, keys: await loadRegistryKeys(join(dir, 'keys')), settings: { ...DEFAULT_SETTINGS, anonymousRead: true }, logger: pino({ level: 'silent' }), metrics: createMetrics(), linter: createLinter() };
  await bootstrapAdmin(deps, ADMIN);
  app = createApp(deps);
  const admin = { name: 'admin', role: 'admin' as const, namespaces: [], tokenId: null };
  const publisher = (await createToken(deps, admin, { principal: 'acme-ci', role: 'publisher', namespaces: ['io.github.acme'] })).token;
  const alice = (await createToken(deps, admin, { principal: 'alice', role: 'security' })).token;
  const publisherKey = generateKeyPair();
  const aliceKey = generateKeyPair();
  const send = (path: string, token: string, body: unknown, method = 'POST') =>
    app.request(path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  publish = async (manifest) => {
    const res = await send('/v1/publish', publisher, { manifest, bundle: await signManifestStatement(manifest, createSigner({ privateKey: publisherKey.privateKeyPem })) });
    return { status: res.status, body: (await res.json()) as { code?: string } };
  };
  expect((await send('/v1/allowlist/io.github.acme', ADMIN, { signers: [{ publicKey: publisherKey.publicKeyPem }] }, 'PUT')).status).toBe(200);
  expect((await send('/v1/reviewers', ADMIN, { principal: 'alice', publicKey: aliceKey.publicKeyPem })).status).toBe(201);
  // 1.0.0 approved, 1.1.0 approved then revoked, 1.2.0 approved, 1.3.0 pending, 1.4.0 rejected.
  for (const version of ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0']) {
    const manifest = weatherManifest({ version });
    const published = await send('/v1/publish', publisher, { manifest, bundle: await signManifestStatement(manifest, createSigner({ privateKey: publisherKey.privateKeyPem })) });
    expect(published.status).toBe(201);
    const risk = ((await published.json()) as { risk: 'low' | 'high' }).risk;
    const v = `/v1/servers/${NAME}/versions/${version}`;
    if (['1.0.0', '1.1.0', '1.2.0'].includes(version)) {
      const bundle = await signApprovalStatement({ name: NAME, version, digest: manifestDigest(manifest) }, { decision: 'approved', reviewer: 'alice', risk }, createSigner({ privateKey: aliceKey.privateKeyPem }));
      expect((await send(`${v}/approvals`, alice, { bundle })).status).toBe(201);
    }
    if (version === '1.1.0') expect((await send(`${v}/revocations`, alice, { reason: 'compromised' })).status).toBe(201);
    if (version === '1.4.0') expect((await send(`${v}/rejections`, alice, { reason: 'no' })).status).toBe(201);
  }
});

afterAll(async () => {
  await database?.close();
  await store?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('when a host reads the official MCP registry API (v0.1)', () => {
  it('lists only approved, unrevoked versions, in the official ServerList shape', async () => {
    const r = await get('/v0.1/servers');
    expect(r.status).toBe(200);
    expect(serverList(r.body), JSON.stringify(serverList.errors)).toBe(true);
    const servers = r.body.servers as Array<{ server: { name: string; version: string }; _meta: Record<string, Record<string, unknown>> }>;
    expect(servers.map((s) => s.server.version).sort()).toEqual(['1.0.0', '1.2.0']);
    const newest = servers.find((s) => s.server.version === '1.2.0')!;
    expect(newest._meta['io.modelcontextprotocol.registry/official']).toMatchObject({ status: 'active', isLatest: true });
    const sigil = newest._meta[SIGIL_META_KEY]!;
    expect(sigil.digest).toBe(manifestDigest(weatherManifest({ version: '1.2.0' })));
    expect(sigil.status).toBe('approved');
    expect((sigil.approvals as string[]).length).toBe(1);
    expect(sigil.record).toBe(`http://localhost/v1/servers/${NAME}/versions/1.2.0`);
    // The server.json part only: Sigil's tools stay out of it.
    expect(newest.server).not.toHaveProperty('tools');
    expect((r.body.metadata as { count: number }).count).toBe(2);
  });

  it('answers version=latest, search, updated_since and a cursor', async () => {
    const latest = await get('/v0.1/servers?version=latest');
    expect((latest.body.servers as Array<{ server: { version: string } }>).map((s) => s.server.version)).toEqual(['1.2.0']);
    expect(((await get('/v0.1/servers?search=nothing-like-it')).body.servers as unknown[]).length).toBe(0);
    expect(((await get('/v0.1/servers?updated_since=2999-01-01T00:00:00Z')).body.servers as unknown[]).length).toBe(0);
    const page = await get('/v0.1/servers?limit=1');
    expect((page.body.servers as unknown[]).length).toBe(1);
    expect(serverList(page.body)).toBe(true);
    const cursor = (page.body.metadata as { nextCursor: string }).nextCursor;
    const rest = await get(`/v0.1/servers?limit=1&cursor=${cursor}`);
    const versions = [...(page.body.servers as Array<{ server: { version: string } }>), ...(rest.body.servers as Array<{ server: { version: string } }>)].map((s) => s.server.version);
    expect(versions.sort()).toEqual(['1.0.0', '1.2.0']);
    expect((rest.body.metadata as { nextCursor?: string }).nextCursor).toBeUndefined();
    expect((await get('/v0.1/servers?updated_since=yesterday')).body.code).toBe('REQUEST_INVALID');
  });

  it('serves /versions, /versions/{version} and /versions/latest by the URL-encoded name', async () => {
    const all = await get(`/v0.1/servers/${ENCODED}/versions`);
    expect(all.status).toBe(200);
    expect(serverList(all.body)).toBe(true);
    expect((all.body.servers as Array<{ server: { version: string } }>).map((s) => s.server.version)).toEqual(['1.2.0', '1.0.0']);
    const one = await get(`/v0.1/servers/${ENCODED}/versions/1.0.0`);
    expect(one.status).toBe(200);
    expect(serverResponse(one.body), JSON.stringify(serverResponse.errors)).toBe(true);
    expect((one.body._meta as Record<string, { isLatest?: boolean }>)['io.modelcontextprotocol.registry/official']!.isLatest).toBe(false);
    const latest = await get(`/v0.1/servers/${ENCODED}/versions/latest`);
    expect((latest.body.server as { version: string }).version).toBe('1.2.0');
  });

  it('answers 404 for revoked, pending, rejected and unknown versions and servers', async () => {
    for (const version of ['1.1.0', '1.3.0', '1.4.0', '9.9.9']) {
      const r = await get(`/v0.1/servers/${ENCODED}/versions/${version}`);
      expect(r.status, version).toBe(404);
      expect(r.body.code).toBe('NOT_FOUND');
    }
    expect((await get(`/v0.1/servers/${encodeURIComponent('io.github.acme/none')}/versions`)).status).toBe(404);
    expect((await get(`/v0.1/servers/${encodeURIComponent('not a name')}/versions`)).body.code).toBe('NAME_INVALID');
  });

  it('sends CORS headers for any origin, and answers the preflight', async () => {
    const r = await get('/v0.1/servers', { origin: 'https://vscode.dev' });
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    const pre = await app.request('/v0.1/servers', { method: 'OPTIONS', headers: { origin: 'https://vscode.dev', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
  });

  it('serves the manifest the database holds now, even one changed behind its back after a read', async () => {
    const path = `/v0.1/servers/${ENCODED}/versions/1.0.0`;
    const description = async () => ((await get(path)).body.server as { description: string }).description;
    const before = await description();
    // Read once, so the answer's server part is kept; then change the stored manifest as a
    // database thief would (the immutability trigger dropped or disabled), and put both back after.
    const sqlite = database.dialect === 'sqlite';
    const trigger = sqlite ? (await database.raw.get<{ sql: string }>("SELECT sql FROM sqlite_master WHERE name = 'versions_content_immutable'"))!.sql : '';
    const stored = (await database.raw.get<{ manifest: string }>("SELECT manifest FROM versions WHERE server = ? AND version = '1.0.0'", [NAME]))!.manifest;
    await database.raw.run(sqlite ? 'DROP TRIGGER versions_content_immutable' : 'ALTER TABLE versions DISABLE TRIGGER versions_guard');
    try {
      const tampered = JSON.stringify({ ...(JSON.parse(stored) as Record<string, unknown>), description: 'tampered' });
      await database.raw.run("UPDATE versions SET manifest = ? WHERE server = ? AND version = '1.0.0'", [tampered, NAME]);
      expect(await description()).toBe('tampered');
      await database.raw.run("UPDATE versions SET manifest = ? WHERE server = ? AND version = '1.0.0'", [stored, NAME]);
      expect(await description()).toBe(before);
    } finally {
      await database.raw.run(sqlite ? trigger : 'ALTER TABLE versions ENABLE TRIGGER versions_guard');
    }
  });
});

describe('when a name differs from a stored one only in case', () => {
  it('refuses it as NAME_CONFUSABLE, even for the same owner, and accepts a new mixed-case name', async () => {
    const twin = await publish(weatherManifest({ name: 'io.github.acme/Weather', version: '1.0.0' }));
    expect(twin.status).toBe(422);
    expect(twin.body.code).toBe('NAME_CONFUSABLE');
    // The token's namespace pattern io.github.acme covers io.github.ACME, and the allowlist too.
    const mixed = await publish(weatherManifest({ name: 'io.github.ACME/Storm-Watch', version: '1.0.0' }));
    expect(mixed.status).toBe(201);
    const again = await publish(weatherManifest({ name: 'io.github.acme/storm-watch', version: '1.0.0' }));
    expect(again.body.code).toBe('NAME_CONFUSABLE');
  });
});
