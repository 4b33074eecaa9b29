import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Db, insertServer, openStore, type Store } from '@sigil/db';
import { checkManifestValue, manifestDigest, type McpServerList } from '@sigil/manifest';
import { createSigner, generateKeyPair, signApprovalStatement, signManifestStatement } from '@sigil/signing/sign';
import { createTestStore, manyTools, type TestStore, weatherManifest } from '@sigil/testing';
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
import type { Deps } from './deps.js';
import { getMcpVersion, listMcpServers, SIGIL_META_KEY } from './services/read-mcp-registry.js';
import { revokeVersion } from './services/revoke-version.js';

const dir = mkdtempSync(join(tmpdir(), 'sigil-v01-'));
const ADMIN = 'mcp-registry-test-admin-token-000';
const NAME = 'io.github.acme/weather';
const ENCODED = encodeURIComponent(NAME);
let store: TestStore;
let database: Store;
let app: App;
let publish: (manifest: ReturnType<typeof weatherManifest>) => Promise<{ status: number; body: { code?: string; risk?: string } }>;
let deps: Deps;
/** Publishes a version and has alice approve it. */
let publishApproved: (manifest: ReturnType<typeof weatherManifest>) => Promise<void>;

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
  deps = { db: database.db, keys: await loadRegistryKeys(join(dir, 'keys')), settings: { ...DEFAULT_SETTINGS, anonymousRead: true }, logger: pino({ level: 'silent' }), metrics: createMetrics(), linter: createLinter() };
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
  publishApproved = async (manifest) => {
    const published = await send('/v1/publish', publisher, { manifest, bundle: await signManifestStatement(manifest, createSigner({ privateKey: publisherKey.privateKeyPem })) });
    expect(published.status).toBe(201);
    const { risk } = (await published.json()) as { risk: 'low' | 'high' };
    const bundle = await signApprovalStatement({ name: manifest.name, version: manifest.version, digest: manifestDigest(manifest) }, { decision: 'approved', reviewer: 'alice', risk }, createSigner({ privateKey: aliceKey.privateKeyPem }));
    expect((await send(`/v1/servers/${manifest.name}/versions/${manifest.version}/approvals`, alice, { bundle })).status).toBe(201);
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

  it('answers every route, successes and refusals, in the shapes the official OpenAPI document gives them', async () => {
    type Operation = { responses: Record<string, { content?: Record<string, { schema: unknown }> }> };
    const paths = (official as unknown as { paths: Record<string, { get: Operation }> }).paths;
    /** The response schema the official document gives a route and status, its references into the vendored components. */
    const schemaOf = (template: string, status: number) => {
      const schema = paths[template]!.get.responses[String(status)]?.content?.['application/json']?.schema;
      return schema === undefined ? undefined : ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"official#/components/')) as object);
    };
    const none = encodeURIComponent('io.github.acme/none');
    const cases: Array<[string, string, number]> = [
      ['/v0.1/servers', '/v0.1/servers', 200],
      ['/v0.1/servers?version=latest', '/v0.1/servers', 200],
      ['/v0.1/servers?version=1.0.0', '/v0.1/servers', 200],
      ['/v0.1/servers?limit=1', '/v0.1/servers', 200],
      ['/v0.1/servers?search=weather&include_deleted=true', '/v0.1/servers', 200],
      [`/v0.1/servers/${ENCODED}/versions`, '/v0.1/servers/{serverName}/versions', 200],
      [`/v0.1/servers/${ENCODED}/versions/1.0.0`, '/v0.1/servers/{serverName}/versions/{version}', 200],
      [`/v0.1/servers/${ENCODED}/versions/latest`, '/v0.1/servers/{serverName}/versions/{version}', 200],
      [`/v0.1/servers/${ENCODED}/versions/1.1.0`, '/v0.1/servers/{serverName}/versions/{version}', 404],
      [`/v0.1/servers/${none}/versions`, '/v0.1/servers/{serverName}/versions', 404],
      [`/v0.1/servers/${none}/versions/latest`, '/v0.1/servers/{serverName}/versions/{version}', 404],
      ['/v0.1/servers?updated_since=yesterday', '/v0.1/servers', 422],
      // A cursor this registry did not give is refused, never read as the end of the list.
      ['/v0.1/servers?cursor=bogus', '/v0.1/servers', 422],
      [`/v0.1/servers?cursor=${Buffer.from(`${NAME}\nx`).toString('base64url')}`, '/v0.1/servers', 422],
      [`/v0.1/servers?cursor=${Buffer.from('not a name\n0').toString('base64url')}`, '/v0.1/servers', 422],
      [`/v0.1/servers/${encodeURIComponent('not a name')}/versions`, '/v0.1/servers/{serverName}/versions', 422],
      [`/v0.1/servers/${ENCODED}/versions/v1.0.0`, '/v0.1/servers/{serverName}/versions/{version}', 422],
      // `latest` or an exact version: anything else is refused, never an empty page.
      ['/v0.1/servers?version=1.x', '/v0.1/servers', 422],
      ['/v0.1/servers?version=v1.0.0', '/v0.1/servers', 422],
    ];
    for (const [path, template, status] of cases) {
      const r = await get(path);
      expect(r.status, path).toBe(status);
      const validate = schemaOf(template, status);
      if (validate) expect(validate(r.body), `${path}: ${JSON.stringify(validate.errors)}`).toBe(true);
      if (status === 200) {
        expect(r.headers.get('content-type'), path).toMatch(/^application\/json/);
        const servers = r.body.servers as unknown[] | undefined;
        if (servers) {
          const metadata = r.body.metadata as { count: number; nextCursor?: unknown };
          expect(metadata.count, path).toBe(servers.length);
          if ('nextCursor' in metadata) expect(typeof metadata.nextCursor === 'string' && metadata.nextCursor.length > 0, path).toBe(true);
        }
      } else {
        // The official API's error key, beside Sigil's problem document and its stable code.
        expect(typeof r.body.error === 'string' && r.body.error.length > 0, path).toBe(true);
        expect(r.body.error, path).toBe(r.body.detail);
        expect(typeof r.body.code, path).toBe('string');
      }
    }
  });

  it('refuses a listing cursor it did not give, on /v1/servers too, and follows the ones it gave', async () => {
    for (const cursor of ['bogus', '%%%', Buffer.from('io.github.acme/weather\n3').toString('base64url')]) {
      const r = await get(`/v1/servers?cursor=${encodeURIComponent(cursor)}`);
      expect([cursor, r.status, r.body.code]).toEqual([cursor, 422, 'REQUEST_INVALID']);
    }
    const first = await get('/v1/servers?limit=1');
    expect(first.status).toBe(200);
    const next = first.body.next as string | null;
    if (next) expect((await get(`/v1/servers?limit=1&cursor=${next}`)).status).toBe(200);
    const page = await get('/v0.1/servers?limit=1');
    const cursor = (page.body.metadata as { nextCursor?: string }).nextCursor!;
    expect((await get(`/v0.1/servers?limit=1&cursor=${cursor}`)).status).toBe(200);
  });

  it('sends CORS headers for any origin, and answers the preflight', async () => {
    const r = await get('/v0.1/servers', { origin: 'https://vscode.dev' });
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    const pre = await app.request('/v0.1/servers', { method: 'OPTIONS', headers: { origin: 'https://vscode.dev', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
  });

  it('serves the server object the database holds now (server_json), even one changed behind its back after a read, and one not stored yet from the manifest', async () => {
    const path = `/v0.1/servers/${ENCODED}/versions/1.0.0`;
    const description = async () => ((await get(path)).body.server as { description: string }).description;
    const before = await (await app.request(path)).text();
    // Change the stored text as a database thief would (the immutability triggers dropped or
    // disabled), and put everything back after.
    const sqlite = database.dialect === 'sqlite';
    const names = ['versions_content_immutable', 'versions_server_json_immutable'];
    const triggers = sqlite ? await database.raw.all<{ sql: string }>(`SELECT sql FROM sqlite_master WHERE name IN ('${names.join("', '")}')`) : [];
    expect(triggers.length).toBe(sqlite ? 2 : 0);
    const stored = (await database.raw.get<{ manifest: string; server_json: string }>("SELECT manifest, server_json FROM versions WHERE server = ? AND version = '1.0.0'", [NAME]))!;
    if (sqlite) for (const name of names) await database.raw.run(`DROP TRIGGER ${name}`);
    else await database.raw.run('ALTER TABLE versions DISABLE TRIGGER versions_guard');
    try {
      const tampered = JSON.stringify({ ...(JSON.parse(stored.server_json) as Record<string, unknown>), description: 'tampered' });
      await database.raw.run("UPDATE versions SET server_json = ? WHERE server = ? AND version = '1.0.0'", [tampered, NAME]);
      expect(await description()).toBe('tampered');
      // A row stored before migration 0009 (server_json null until the store fills it): made from the manifest as it now is.
      await database.raw.run("UPDATE versions SET server_json = NULL WHERE server = ? AND version = '1.0.0'", [NAME]);
      expect(await (await app.request(path)).text()).toBe(before);
      const manifest = JSON.stringify({ ...(JSON.parse(stored.manifest) as Record<string, unknown>), description: 'changed manifest' });
      await database.raw.run("UPDATE versions SET manifest = ? WHERE server = ? AND version = '1.0.0'", [manifest, NAME]);
      expect(await description()).toBe('changed manifest');
      expect(JSON.parse(await (await app.request('/v0.1/servers?version=1.0.0')).text()).servers[0].server.description).toBe('changed manifest');
    } finally {
      await database.raw.run("UPDATE versions SET manifest = ?, server_json = ? WHERE server = ? AND version = '1.0.0'", [stored.manifest, stored.server_json, NAME]);
      if (sqlite) for (const t of triggers) await database.raw.run(t.sql);
      else await database.raw.run('ALTER TABLE versions ENABLE TRIGGER versions_guard');
    }
    expect(await (await app.request(path)).text()).toBe(before);
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

describe('when the listings splice answers made by the database', () => {
  /** Every listing of NAME's approved versions, as served, and as JSON.stringify writes the answers GET version makes from the rows. */
  async function listings() {
    const paths = ['/v0.1/servers', '/v0.1/servers?version=latest', '/v0.1/servers?limit=1', `/v0.1/servers/${ENCODED}/versions`];
    return Promise.all(
      paths.map(async (path) => {
        const served = await (await app.request(path)).text();
        const page = JSON.parse(served) as McpServerList;
        // The row's name and version, from the record URL (a manifest changed behind the registry's back may name others).
        const rows = page.servers.map((s) => /\/v1\/servers\/(.+)\/versions\/([^/]+)$/.exec((s._meta![SIGIL_META_KEY] as { record: string }).record)!);
        const made = await Promise.all(rows.map((m) => getMcpVersion(deps, m[1]!, decodeURIComponent(m[2]!), 'http://localhost')));
        return { path, served, expected: JSON.stringify({ servers: made, metadata: page.metadata }), versions: rows.map((m) => decodeURIComponent(m[2]!)) };
      }),
    );
  }

  it('serves the bytes JSON.stringify writes for the same answers, for rows as the registry wrote them and rows changed behind its back', async () => {
    for (const l of await listings()) expect(l.served, l.path).toBe(l.expected);
    const sqlite = database.dialect === 'sqlite';
    const triggers = sqlite ? await database.raw.all<{ sql: string }>("SELECT sql FROM sqlite_master WHERE name IN ('versions_content_immutable', 'approvals_immutable')") : [];
    const columns = 'id, version, manifest, publisher, signer_identity, provenance, risk';
    const stored = await database.raw.all<Record<string, unknown>>(`SELECT ${columns} FROM versions WHERE server = ? AND version IN ('1.0.0', '1.2.0') ORDER BY version`, [NAME]);
    const [old, newest] = stored as [{ id: number; manifest: string }, { id: number; manifest: string }];
    const approvals = await database.raw.all<{ id: number; created_at: string }>('SELECT id, created_at FROM approvals WHERE version_id = ?', [old.id]);
    const off = sqlite ? ['DROP TRIGGER versions_content_immutable', 'DROP TRIGGER approvals_immutable'] : ['ALTER TABLE versions DISABLE TRIGGER versions_guard', 'ALTER TABLE approvals DISABLE TRIGGER approvals_immutable'];
    for (const statement of off) await database.raw.run(statement);
    try {
      // Not as JSON.stringify writes it: other escapes and number forms, keys out of order and
      // keys that are array indices (JavaScript puts them first); texts JSON escapes.
      const manifest = newest.manifest.replace('{', '{"_meta":{"10":1,"9":[2.50,1e2]},"z\\u0041\\/":"caf\\u00e9",');
      await database.raw.run('UPDATE versions SET manifest = ?, publisher = ?, signer_identity = ? WHERE id = ?', [manifest, 'a "quoted"\n\u2028 publisher \u2713', 'https://ci.example/w\u00e9', newest.id]);
      // A build in the version (percent-encoded in the record URL), a provenance.
      await database.raw.run("UPDATE versions SET version = '1.0.0+build.7', provenance = '{}' WHERE id = ?", [old.id]);
      const changed = await listings();
      expect(changed[0]!.versions.sort()).toEqual(['1.0.0+build.7', '1.2.0']);
      for (const l of changed) expect(l.served, l.path).toBe(l.expected);
      expect(changed[0]!.served).toContain('/versions/1.0.0%2Bbuild.7#/provenance');
      // An approval time beyond ASCII (ordered by code point in SQL, by UTF-16 unit in JavaScript);
      // SQLite keeps a BLOB in a text column, and JSON.stringify writes the Buffer it is read as.
      await database.raw.run("UPDATE approvals SET created_at = created_at || '\u00e9' WHERE version_id = ?", [old.id]);
      if (sqlite) await database.raw.run("UPDATE versions SET risk = CAST('low' AS BLOB) WHERE id = ?", [newest.id]);
      for (const l of await listings()) expect(l.served, l.path).toBe(l.expected);
    } finally {
      for (const row of stored) await database.raw.run('UPDATE versions SET version = ?, manifest = ?, publisher = ?, signer_identity = ?, provenance = ?, risk = ? WHERE id = ?', [row.version, row.manifest, row.publisher, row.signer_identity, row.provenance, row.risk, row.id]);
      for (const a of approvals) await database.raw.run('UPDATE approvals SET created_at = ? WHERE id = ?', [a.created_at, a.id]);
      if (sqlite) for (const t of triggers) await database.raw.run(t.sql);
      else for (const statement of ['ALTER TABLE versions ENABLE TRIGGER versions_guard', 'ALTER TABLE approvals ENABLE TRIGGER approvals_immutable']) await database.raw.run(statement);
    }
    for (const l of await listings()) expect(l.served, l.path).toBe(l.expected);
  });
});

describe('when a version is revoked while a page of servers is read', () => {
  it('serves the page as one snapshot (the state before the revocation, whole), and GET latest never the revoked one', async () => {
    // A server of its own (last in this file), so the pages above are unchanged.
    const FORECAST = 'io.github.acme/forecast';
    // Tools of its own: the weather server's would shadow an approved server's and make it high-risk.
    for (const version of ['1.0.0', '2.0.0']) await publishApproved(weatherManifest({ name: FORECAST, version, tools: manyTools(2) }));
    const q = { limit: 30, search: 'forecast', version: 'latest' };
    const before = JSON.parse(await listMcpServers(deps, q, 'http://localhost')) as McpServerList;
    expect(before.servers.map((s) => s.server.version)).toEqual(['2.0.0']);
    // Deterministically between the page's first read (the servers and their approved versions)
    // and its second (the rows of those served), another connection to the same database revokes
    // 2.0.0 and commits: the second read is made to wait (handle() answers "busy") until it has.
    const other = await openStore(store);
    const alice = { name: 'alice', role: 'security' as const, namespaces: [], tokenId: null };
    const db = deps.db;
    let reads = 0;
    let revoking: Promise<unknown> | undefined;
    let revoked = false;
    const pausing = (version: string): Db => {
      reads = 0;
      revoking = undefined;
      revoked = false;
      return {
        dialect: db.dialect,
        transaction: (fn) => db.transaction(fn),
        snapshot: (fn) => db.snapshot(fn),
        // The page is read (this test is about its reads), never answered as kept.
        keptSnapshot: (_key, fn) => db.snapshot(fn),
        ready: () => db.ready(),
        handle: () => {
          if (++reads === 2) revoking = revokeVersion({ ...deps, db: other.db }, alice, FORECAST, version, 'compromised').then(() => (revoked = true));
          return revoking && !revoked ? undefined : db.handle();
        },
        idle: () => (revoking && !revoked ? revoking.then(() => {}) : db.idle()),
      };
    };
    try {
      const during = JSON.parse(await listMcpServers({ ...deps, db: pausing('2.0.0') }, q, 'http://localhost')) as McpServerList;
      expect(revoked).toBe(true);
      expect(reads).toBeGreaterThan(2);
      expect(during).toEqual(before);
      // Read after the revocation committed, the page no longer holds it.
      expect((JSON.parse(await listMcpServers(deps, q, 'http://localhost')) as McpServerList).servers.map((s) => [s.server.version, s._meta?.['io.modelcontextprotocol.registry/official']])).toEqual([
        ['1.0.0', expect.objectContaining({ isLatest: true })],
      ]);
      // GET …/versions/latest reads its list and the row without a snapshot: the newest, revoked
      // between the two, is not served; the list read again names the one before it.
      await publishApproved(weatherManifest({ name: FORECAST, version: '3.0.0', tools: manyTools(2) }));
      const latest = await getMcpVersion({ ...deps, db: pausing('3.0.0') }, FORECAST, 'latest', 'http://localhost');
      expect([revoked, latest.server.version, latest._meta?.['io.modelcontextprotocol.registry/official']]).toEqual([true, '1.0.0', expect.objectContaining({ isLatest: true })]);
    } finally {
      await other.close();
    }
  });
});

describe('when real server.json documents are published into Sigil and read back through v0.1', () => {
  it('serves each one unchanged as the server part, valid for the official ServerResponse schema', async () => {
    // The official registry's seed documents (vendored with its licence), real ones, and one with every field
    // of the schema, each with one read-only tool of its own (so one approval makes it approved).
    const seed = JSON.parse(readFileSync(new URL('../../../packages/manifest/test-vectors/official/seed.json', import.meta.url), 'utf8')) as Array<Record<string, unknown>>;
    const everyField = {
      $schema: 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json',
      name: 'io.github.Probe-Org/Every-Field',
      title: 'Every field',
      description: '😀'.repeat(100),
      version: '2.0.0-rc.1',
      websiteUrl: 'https://[2001:db8::1]:8443/docs?x=1#top',
      repository: { url: 'ssh://git@github.com/probe-org/every-field', source: '', id: '42', subfolder: 'src' },
      icons: [{ src: 'https://example.com/icon.svg', mimeType: 'image/svg+xml', sizes: ['any'], theme: 'dark' }],
      packages: [
        {
          registryType: '',
          identifier: '',
          transport: { type: 'streamable-http', url: 'http://localhost:{port}/mcp', headers: [{ name: '', value: '{v}', variables: { v: { choices: ['a'] } } }] },
          runtimeArguments: [{ type: 'named', name: '' }, { type: 'positional', value: 'x', isRepeated: true }],
          environmentVariables: [{ name: '', format: 'filepath' }],
        },
      ],
      remotes: [{ type: 'sse', url: 'https://api.example.com/{tenant}/sse', variables: { tenant: { isRequired: true } } }],
      _meta: { 'io.modelcontextprotocol.registry/publisher-provided': { ok: [1, null, { deep: true }] } },
    };
    // And the real server.json files of MCP server repositories (vendored with their licences) that Sigil accepts as they are.
    const real = (JSON.parse(readFileSync(new URL('../../../packages/manifest/test-vectors/real-server-json/documents.json', import.meta.url), 'utf8')) as Array<{ document: Record<string, unknown> }>)
      .map((d) => d.document)
      .filter((doc) => checkManifestValue({ ...doc, tools: [] }).manifest !== undefined);
    expect(real.length).toBeGreaterThanOrEqual(8);
    const docs = [...seed, ...real, everyField];
    const namespaces = [...new Set(docs.map((d) => String(d.name).split('/')[0]!.toLowerCase()))];
    const admin = { name: 'admin', role: 'admin' as const, namespaces: [], tokenId: null };
    const publisher = (await createToken(deps, admin, { principal: 'seed-ci', role: 'publisher', namespaces })).token;
    const carol = (await createToken(deps, admin, { principal: 'carol', role: 'security' })).token;
    const publisherKey = generateKeyPair();
    const carolKey = generateKeyPair();
    const send = (path: string, token: string, body: unknown, method = 'POST') =>
      app.request(path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const ns of namespaces) expect((await send(`/v1/allowlist/${ns}`, ADMIN, { signers: [{ publicKey: publisherKey.publicKeyPem }] }, 'PUT')).status).toBe(200);
    expect((await send('/v1/reviewers', ADMIN, { principal: 'carol', publicKey: carolKey.publicKeyPem })).status).toBe(201);
    for (const [i, doc] of docs.entries()) {
      expect(serverResponse({ server: doc }), `${String(doc.name)}: ${JSON.stringify(serverResponse.errors)}`).toBe(true);
      const tool = { name: `seed_lookup_${i}`, description: 'Looks a record up by its id and returns it.', inputSchema: { type: 'object', properties: { id: { type: 'string' } } }, annotations: { readOnlyHint: true } };
      const manifest = { ...doc, tools: [tool] } as unknown as ReturnType<typeof weatherManifest>;
      const published = await send('/v1/publish', publisher, { manifest, bundle: await signManifestStatement(manifest, createSigner({ privateKey: publisherKey.privateKeyPem })) });
      const body = (await published.json()) as { risk: 'low' | 'high'; code?: string; detail?: string };
      expect(published.status, `${String(doc.name)}@${String(doc.version)}: ${body.code} ${body.detail}`).toBe(201);
      const statement = { name: manifest.name, version: manifest.version, digest: manifestDigest(manifest) };
      const approval = await signApprovalStatement(statement, { decision: 'approved', reviewer: 'carol', risk: body.risk }, createSigner({ privateKey: carolKey.privateKeyPem }));
      expect((await send(`/v1/servers/${manifest.name}/versions/${manifest.version}/approvals`, carol, { bundle: approval })).status).toBe(201);
      const read = await get(`/v0.1/servers/${encodeURIComponent(manifest.name)}/versions/${manifest.version}`);
      expect(read.status).toBe(200);
      expect(serverResponse(read.body), JSON.stringify(serverResponse.errors)).toBe(true);
      expect(read.body.server).toEqual(doc);
    }
  });
});

describe('when server names are as long as names go (200 characters)', () => {
  // Names far apart, each word different (a name one edit or so from another is confusable: high risk).
  const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima', 'mike', 'november', 'oscar', 'papa'];
  const LONG = [0, 1, 2].map((n) => `io.github.acme/long-${Array.from({ length: 40 }, (_, i) => WORDS[(i * (n + 3) + n) % WORDS.length]).join('-')}`.slice(0, 200));

  it('pages through them with the cursors it gave, on /v1/servers and /v0.1/servers', async () => {
    // Read-only tools named apart (a tool named as an approved server's is a warning: high risk, two reviews).
    for (const [i, name] of LONG.entries()) await publishApproved(weatherManifest({ name, version: '1.0.0', tools: manyTools(1).map((t) => ({ ...t, name: `long_${i}_${t.name}` })) }));
    expect(LONG.every((name) => name.length === 200)).toBe(true);
    const walk = async (first: string, next: (body: Record<string, unknown>) => string | undefined, names: (body: Record<string, unknown>) => string[]) => {
      const seen: string[] = [];
      for (let path: string | undefined = first; path !== undefined; ) {
        const page = await get(path);
        expect([path, page.status]).toEqual([path, 200]);
        seen.push(...names(page.body));
        const cursor = next(page.body);
        if (cursor !== undefined) expect(cursor.length).toBeGreaterThan(256);
        path = cursor === undefined ? undefined : `${first}&cursor=${cursor}`;
      }
      return seen;
    };
    expect(await walk('/v1/servers?search=long-&limit=1', (b) => (b.next as string | null) ?? undefined, (b) => (b.servers as Array<{ name: string }>).map((s) => s.name))).toEqual(LONG);
    expect(
      await walk('/v0.1/servers?search=long-&limit=1', (b) => (b.metadata as { nextCursor?: string }).nextCursor, (b) => (b.servers as Array<{ server: { name: string } }>).map((s) => s.server.name)),
    ).toEqual(LONG);
  });

  it('reads an empty cursor as none (the first page), on both listings', async () => {
    const v1 = await get('/v1/servers?search=long-&cursor=');
    expect([v1.status, (v1.body.servers as Array<{ name: string }>).map((s) => s.name)]).toEqual([200, LONG]);
    const v01 = await get('/v0.1/servers?search=long-&cursor=');
    expect([v01.status, (v01.body.servers as Array<{ server: { name: string } }>).map((s) => s.server.name)]).toEqual([200, LONG]);
  });
});

describe('when thousands of servers have nothing approved before one that has', () => {
  it('ends a page the read rounds cut short with a cursor, so a client following cursors finds the server', async () => {
    // More servers without an approved version than one request walks (12 rounds, 1,254 at limit=1): several pages.
    await deps.db.transaction(async (tx) => {
      for (let i = 0; i < 9_500; i++) await insertServer(tx, { name: `io.github.acme/gap-${String(i).padStart(5, '0')}`, namespace: 'io.github.acme', owner: 'acme-ci', createdAt: '2026-01-01T00:00:00.000Z' });
    });
    const LAST = 'io.github.acme/gapz-last-one';
    await publishApproved(weatherManifest({ name: LAST, version: '1.0.0', tools: manyTools(1).map((t) => ({ ...t, name: `gapz_${t.name}` })) }));
    const found: string[] = [];
    let pages = 0;
    for (let cursor: string | undefined = ''; cursor !== undefined; pages++) {
      const page = await get(`/v0.1/servers?search=acme/gap&limit=1&cursor=${cursor}`);
      expect(page.status).toBe(200);
      expect(serverList(page.body)).toBe(true);
      found.push(...(page.body.servers as Array<{ server: { name: string } }>).map((s) => s.server.name));
      cursor = (page.body.metadata as { nextCursor?: string }).nextCursor;
    }
    expect(found).toEqual([LAST]);
    expect(pages).toBeGreaterThan(1);
  }, 120_000);
});

describe('when a listing asks for versions updated since a time', () => {
  /** Every server object a listing serves, following its cursors (`limit` a page). */
  async function all(query: string, limit: number): Promise<string[]> {
    const served: string[] = [];
    for (let cursor: string | undefined = '', pages = 0; cursor !== undefined; pages++) {
      expect(pages).toBeLessThan(200);
      const page = await get(`/v0.1/servers?${query}&limit=${limit}&cursor=${cursor}`);
      expect(page.status).toBe(200);
      served.push(...(page.body.servers as unknown[]).map((s) => JSON.stringify(s)));
      cursor = (page.body.metadata as { nextCursor?: string }).nextCursor;
    }
    return served;
  }

  it('serves exactly the versions of the unfiltered listing changed at or after it, in order, across pages', async () => {
    // Servers with several approved versions, approved one after another (distinct times).
    for (const [i, name] of ['io.github.acme/since-a', 'io.github.acme/since-b', 'io.github.acme/since-c'].entries()) {
      for (const version of ['1.0.0', '1.10.0', '1.9.0'].slice(0, i + 1)) {
        await publishApproved(weatherManifest({ name, version, tools: manyTools(1).map((t) => ({ ...t, name: `since_${i}_${version.replace(/\./g, '_')}_${t.name}` })) }));
      }
    }
    for (const version of ['', '&version=latest']) {
      const everything = await all(`search=acme/since${version}`, 100);
      const times = everything.map((s) => (JSON.parse(s) as { _meta: Record<string, { updatedAt: string }> })._meta['io.modelcontextprotocol.registry/official']!.updatedAt);
      expect(new Set(times).size).toBe(times.length);
      for (const since of [...times, '2000-01-01T00:00:00.000Z', '2999-01-01T00:00:00.000Z']) {
        const expected = everything.filter((_, i) => times[i]! >= since);
        for (const limit of [1, 2, 30]) expect(await all(`search=acme/since${version}&updated_since=${since}`, limit), `${version} ${since} ${limit}`).toEqual(expected);
      }
    }
  }, 60_000);
});
