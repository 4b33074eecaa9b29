import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase, openPostgres, openStore, type Store } from '@sigil/db';
import { manifestDigest, type Manifest } from '@sigil/manifest';
import { createCa, createIntermediateCa, createSigner, createTimestampResponder, generateKeyPair, issueLeaf, provenanceFromGitHubActions, signApprovalStatement, signManifestStatement, signProvenance, type BundleSigner, type CaMaterial } from '@sigil/signing/sign';
import { certificateFingerprint } from '@sigil/signing/verify';
import { createTestStore, testDialect, weatherManifest, type TestStore } from '@sigil/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from './app.js';
import { DEFAULT_SETTINGS } from './config.js';
import type { Deps } from './deps.js';
import { KEY_FILES, loadRegistryKeys } from './keys.js';
import { createLinter } from './linter.js';
import { createMetrics } from './metrics.js';
import { bootstrapAdmin, createToken } from './services/create-token.js';

// Certificate identities are bound to the CA that must issue them: with two organisation CAs
// trusted, a leaf from CA B carrying an identity bound to CA A is not that signer, reviewer or
// builder. Real CAs, real leaves, real timestamps from the registry's own TSA, real bundles.

const dir = mkdtempSync(join(tmpdir(), 'sigil-identity-ca-'));
let store: TestStore;
/** The database of a previous version's registry, upgraded (the last describe). */
let upgraded: TestStore | undefined;
let database: Store;
let deps: Deps;
let app: App;
const ADMIN = 'identity-ca-admin-token-000000000';
const t = {} as { publisher: string; erin: string; frank: string };
const caA = createCa({ name: 'Team A Signing CA' });
const caB = createCa({ name: 'Team B Signing CA' });
const caC = createCa({ name: 'Never Registered CA' });
const A = certificateFingerprint(caA.certificatePem);
const B = certificateFingerprint(caB.certificatePem);
const RELEASE = 'mailto:release@a.example';
const ERIN = 'mailto:erin@a.example';
const BUILD = 'https://github.com/team-a/weather-mcp/.github/workflows/release.yml@refs/tags/v1.0.0';
const builderId = 'https://github.com/actions/runner/github-hosted';
let respond: ReturnType<typeof createTimestampResponder>;

type Answer = { status: number; body: Record<string, unknown> };
async function call(path: string, token: string, method: string, body?: unknown): Promise<Answer> {
  const res = await app.request(path, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
/** A leaf for `identity` issued by `ca`, and a signer timestamping with the registry's TSA. */
function leafSigner(ca: CaMaterial, identity: string): BundleSigner {
  const keys = generateKeyPair();
  return createSigner({ privateKey: keys.privateKeyPem, certificate: issueLeaf(ca, { publicKey: keys.publicKeyPem, identity, days: 1 }), timestamp: { responder: respond } });
}
function manifestOf(namespace: string, version: string): Manifest {
  const m = weatherManifest({ name: `${namespace}/weather`, version });
  return { ...m, tools: m.tools.map((tool) => ({ ...tool, name: `${namespace.replace(/\W/g, '_')}_${tool.name}` })) };
}
async function publish(manifest: Manifest, signer: BundleSigner, provenance?: BundleSigner): Promise<Answer> {
  const gha = {
    GITHUB_ACTIONS: 'true', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/weather-mcp',
    GITHUB_WORKFLOW_REF: 'acme/weather-mcp/.github/workflows/release.yml@refs/tags/v1.0.0', GITHUB_REF: 'refs/tags/v1.0.0',
    GITHUB_SHA: 'b'.repeat(40), GITHUB_RUN_ID: '1', GITHUB_RUN_ATTEMPT: '1', GITHUB_EVENT_NAME: 'push',
  };
  return call('/v1/publish', t.publisher, 'POST', {
    manifest,
    bundle: await signManifestStatement(manifest, signer),
    ...(provenance ? { provenance: await signProvenance(manifest, provenanceFromGitHubActions(gha), provenance) } : {}),
  });
}
async function approve(manifest: Manifest, token: string, reviewer: string, signer: BundleSigner): Promise<Answer> {
  const [namespace, name] = manifest.name.split('/') as [string, string];
  const bundle = await signApprovalStatement({ name: manifest.name, version: manifest.version, digest: manifestDigest(manifest) }, { decision: 'approved', reviewer, risk: 'low' }, signer);
  return call(`/v1/servers/${namespace}/${name}/versions/${manifest.version}/approvals`, token, 'POST', { bundle });
}
async function counts(): Promise<string> {
  return JSON.stringify(await database.raw.all("select (select count(*) from versions) as v, (select count(*) from approvals) as a, (select count(*) from audit_events) as e"));
}
async function auditOf(action: string): Promise<Array<{ subject: string; details: string }>> {
  return database.raw.all<{ subject: string; details: string }>(`select subject, details from audit_events where action = '${action}' order by seq`);
}

beforeAll(async () => {
  store = await createTestStore(dir);
  database = await openStore(store);
  const keysDir = join(dir, 'keys');
  deps = {
    db: database.db,
    keys: await loadRegistryKeys(keysDir),
    settings: { ...DEFAULT_SETTINGS, provenanceBuilders: [builderId] },
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(),
    linter: createLinter(),
  };
  respond = createTimestampResponder({ privateKey: readFileSync(join(keysDir, KEY_FILES.tsaKey), 'utf8'), certificateChain: readFileSync(join(keysDir, KEY_FILES.tsaChain), 'utf8') });
  await bootstrapAdmin(deps, ADMIN);
  app = createApp(deps);
  const admin = { name: 'admin', role: 'admin' as const, namespaces: [], tokenId: null };
  t.publisher = (await createToken(deps, admin, { principal: 'team-a-ci', role: 'publisher', namespaces: ['io.github.*'] })).token;
  t.erin = (await createToken(deps, admin, { principal: 'erin', role: 'security' })).token;
  t.frank = (await createToken(deps, admin, { principal: 'frank', role: 'security' })).token;
});
afterAll(async () => {
  await database?.close();
  await store?.drop();
  await upgraded?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('when identities are stored before a second CA is registered', () => {
  it('keeps an identity added with no CA registered unbound, and it counts for the first CA registered', async () => {
    const added = await call('/v1/reviewers', ADMIN, 'POST', { principal: 'erin', identity: ERIN });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ principal: 'erin', kind: 'identity', fingerprint: ERIN });
    expect((await call('/v1/certificate-authorities', ADMIN, 'POST', { certificates: caA.chainPem })).body).toEqual({ fingerprint: A });
  });

  it('binds an identity written without ca to the only CA', async () => {
    const put = await call('/v1/allowlist/io.github.teama', ADMIN, 'PUT', { signers: [{ identity: RELEASE }], builders: [{ builderId, identity: BUILD }] });
    expect(put.status).toBe(200);
    expect(put.body.signers).toEqual([{ kind: 'identity', fingerprint: `${RELEASE} ${A}`, identity: RELEASE, ca: A }]);
    expect(put.body.builders).toEqual([{ builderId, kind: 'identity', fingerprint: `${BUILD} ${A}`, identity: BUILD, ca: A }]);
  });

  it('binds every unbound identity to the first CA when a second is registered, in the audit log', async () => {
    expect((await call('/v1/certificate-authorities', ADMIN, 'POST', { certificates: caB.chainPem })).body).toEqual({ fingerprint: B });
    expect((await call('/v1/reviewers', ADMIN, 'GET')).body).toEqual({ reviewers: [{ principal: 'erin', kind: 'identity', fingerprint: `${ERIN} ${A}`, ca: A }] });
    const registered = await auditOf('ca.register');
    expect(registered.map((e) => [e.subject, JSON.parse(e.details)])).toEqual([
      [A, {}],
      [B, { boundTo: A, identities: 1 }],
    ]);
  });
});

describe('when two CAs are registered', () => {
  it('refuses an identity without ca, a ca the registry does not trust, and a ca on a key, writing nothing', async () => {
    const before = await counts();
    const cases = [
      { signers: [{ identity: RELEASE }] },
      { signers: [{ identity: RELEASE, ca: certificateFingerprint(caC.certificatePem) }] },
      { signers: [{ identity: RELEASE, ca: 'SHA256:not-a-fingerprint' }] },
      { signers: [{ publicKey: generateKeyPair().publicKeyPem, ca: A }] },
      { signers: [{ identity: RELEASE, ca: A }], builders: [{ builderId, identity: BUILD }] },
    ];
    for (const body of cases) {
      const r = await call('/v1/allowlist/io.github.teamx', ADMIN, 'PUT', body);
      expect([r.status, r.body.code]).toEqual([422, 'REQUEST_INVALID']);
    }
    const reviewer = await call('/v1/reviewers', ADMIN, 'POST', { principal: 'frank', identity: 'mailto:frank@b.example' });
    expect([reviewer.status, reviewer.body.code]).toEqual([422, 'REQUEST_INVALID']);
    expect(await counts()).toBe(before);
  });

  it('refuses a private key wherever a public key or a chain goes, writing nothing, and stores a public key as its canonical PEM', async () => {
    const before = await counts();
    const keys = generateKeyPair();
    const allowlistBefore = await call('/v1/allowlist', ADMIN, 'GET');
    for (const body of [{ signers: [{ publicKey: keys.privateKeyPem }] }, { signers: [{ publicKey: `${keys.publicKeyPem}${keys.privateKeyPem}` }] }, { signers: [{ identity: RELEASE, ca: A }], builders: [{ builderId, publicKey: keys.privateKeyPem }] }]) {
      const r = await call('/v1/allowlist/io.github.teamkey', ADMIN, 'PUT', body);
      expect([r.status, r.body.code]).toEqual([422, 'REQUEST_INVALID']);
      expect(r.body.detail).toContain('private key');
    }
    const reviewer = await call('/v1/reviewers', ADMIN, 'POST', { principal: 'gina', publicKey: keys.privateKeyPem });
    expect([reviewer.status, reviewer.body.code]).toEqual([422, 'REQUEST_INVALID']);
    const ca = await call('/v1/certificate-authorities', ADMIN, 'POST', { certificates: `${caC.chainPem}${caC.privateKeyPem}` });
    expect([ca.status, ca.body.code]).toEqual([422, 'REQUEST_INVALID']);
    expect(ca.body.detail).toContain('private key');
    expect(await counts()).toBe(before);
    expect(JSON.stringify((await call('/v1/allowlist', ADMIN, 'GET')).body)).toBe(JSON.stringify(allowlistBefore.body));
    // The same public key in other line endings is the one canonical PEM, as stored and served.
    const put = await call('/v1/allowlist/io.github.teamkey', ADMIN, 'PUT', { signers: [{ publicKey: `\n${keys.publicKeyPem.replace(/\n/g, '\r\n')}\n` }] });
    expect(put.status).toBe(200);
    const served = await call('/v1/allowlist/io.github.teamkey', ADMIN, 'GET');
    expect((served.body.signers as Array<{ publicKey: string }>)[0]!.publicKey).toBe(keys.publicKeyPem);
    expect(JSON.stringify(served.body)).not.toContain('PRIVATE');
  });

  it('takes a CA or a reviewer registered again as it is, writing nothing, and refuses another chain for a registered CA (409 CONFLICT)', async () => {
    const before = await counts();
    const again = await call('/v1/certificate-authorities', ADMIN, 'POST', { certificates: caA.chainPem });
    expect([again.status, again.body]).toEqual([201, { fingerprint: A }]);
    const other = await call('/v1/certificate-authorities', ADMIN, 'POST', { certificates: `${caA.chainPem.trim()}\n${caB.certificatePem}` });
    expect([other.status, other.body.code]).toEqual([409, 'CONFLICT']);
    // erin, bound to CA A since the first CA was registered: the same binding again.
    const twice = await call('/v1/reviewers', ADMIN, 'POST', { principal: 'erin', identity: ERIN, ca: A });
    expect([twice.status, twice.body]).toEqual([201, { principal: 'erin', kind: 'identity', fingerprint: `${ERIN} ${A}`, ca: A }]);
    expect(await counts()).toBe(before);
    expect((await auditOf('ca.register')).filter((e) => e.subject === A)).toHaveLength(1);
    expect((await auditOf('reviewer.add')).filter((e) => e.subject === 'erin')).toHaveLength(1);
  });

  it('stores the same identity under two CAs as two signers', async () => {
    const put = await call('/v1/allowlist/io.github.both', ADMIN, 'PUT', { signers: [{ identity: RELEASE, ca: A }, { identity: RELEASE, ca: B }, { identity: RELEASE, ca: A }] });
    expect(put.status).toBe(200);
    expect((put.body.signers as Array<{ ca: string }>).map((s) => s.ca)).toEqual([A, B]);
    expect((await call('/v1/allowlist/io.github.both', ADMIN, 'DELETE')).status).toBe(204);
  });

  it('refuses a manifest signed by CA B with an identity bound to CA A, and takes it from CA A', async () => {
    const manifest = manifestOf('io.github.teama', '1.0.0');
    const before = await counts();
    const forged = await publish(manifest, leafSigner(caB, RELEASE));
    expect([forged.status, forged.body.code]).toEqual([403, 'SIGNER_NOT_ALLOWED']);
    expect(await counts()).toBe(before);
    const real = await publish(manifest, leafSigner(caA, RELEASE));
    expect(real.status).toBe(201);
    // The reviewer sees which CA vouched for the identity.
    expect((await call('/v1/servers/io.github.teama/weather/versions/1.0.0/review', t.erin, 'GET')).body.signer).toEqual({ kind: 'certificate', identity: RELEASE, keyFingerprint: expect.any(String), ca: A });
  });

  it('refuses provenance signed by CA B for a builder identity bound to CA A, and takes it from CA A', async () => {
    const manifest = manifestOf('io.github.teama', '1.1.0');
    const before = await counts();
    const forged = await publish(manifest, leafSigner(caA, RELEASE), leafSigner(caB, BUILD));
    expect([forged.status, forged.body.code]).toEqual([422, 'PROVENANCE_INVALID']);
    expect(await counts()).toBe(before);
    expect((await publish(manifest, leafSigner(caA, RELEASE), leafSigner(caA, BUILD))).status).toBe(201);
  });

  it('refuses an approval signed by CA B with the reviewer identity bound to CA A, and takes it from CA A', async () => {
    const manifest = manifestOf('io.github.teama', '1.0.0');
    const before = await counts();
    const forged = await approve(manifest, t.erin, 'erin', leafSigner(caB, ERIN));
    expect([forged.status, forged.body.code]).toEqual([403, 'SIGNER_NOT_ALLOWED']);
    expect(await counts()).toBe(before);
    const taken = await approve(manifest, t.erin, 'erin', leafSigner(caA, ERIN));
    // The body says why, should it ever be refused (once, in a loaded CI lane on PostgreSQL: 422).
    expect(taken.status, JSON.stringify(taken.body)).toBe(201);
  });

  it('binds the same identity under another CA to another reviewer', async () => {
    const frank = await call('/v1/reviewers', ADMIN, 'POST', { principal: 'frank', identity: ERIN, ca: B });
    expect(frank.body).toEqual({ principal: 'frank', kind: 'identity', fingerprint: `${ERIN} ${B}`, ca: B });
    const clash = await call('/v1/reviewers', ADMIN, 'POST', { principal: 'frank', identity: ERIN, ca: A });
    expect([clash.status, clash.body.code]).toEqual([409, 'CONFLICT']);
    // frank's binding is CA B's leaf: CA A's leaf with the same identity is erin's, not his.
    const manifest = manifestOf('io.github.teama', '1.1.0');
    const forged = await approve(manifest, t.frank, 'frank', leafSigner(caA, ERIN));
    expect([forged.status, forged.body.code]).toEqual([403, 'SIGNER_NOT_ALLOWED']);
  });

  it('refuses to approve a version whose signer identity is now bound to the other CA only', async () => {
    const manifest = manifestOf('io.github.teama', '1.1.0');
    expect((await call('/v1/allowlist/io.github.teama', ADMIN, 'PUT', { signers: [{ identity: RELEASE, ca: B }] })).status).toBe(200);
    const refused = await approve(manifest, t.frank, 'frank', leafSigner(caB, ERIN));
    expect([refused.status, refused.body.code]).toEqual([403, 'SIGNER_NOT_ALLOWED']);
    expect((await call('/v1/allowlist/io.github.teama', ADMIN, 'PUT', { signers: [{ identity: RELEASE, ca: A }] })).status).toBe(200);
    expect((await approve(manifest, t.frank, 'frank', leafSigner(caB, ERIN))).status).toBe(201);
  });

  it('lets an identity stored unbound while several CAs were trusted sign nothing (fail closed)', async () => {
    // A row from before identities carried their CA, on a registry that already trusted two.
    expect((await call('/v1/allowlist/io.github.legacy', ADMIN, 'PUT', { signers: [{ identity: RELEASE, ca: A }] })).status).toBe(200);
    await database.raw.run("update allowlist_signers set ca = null, fingerprint = value where pattern = 'io.github.legacy'");
    expect((await call('/v1/allowlist/io.github.legacy', ADMIN, 'GET')).body.signers).toEqual([{ kind: 'identity', fingerprint: RELEASE, identity: RELEASE }]);
    for (const ca of [caA, caB]) {
      const r = await publish(manifestOf('io.github.legacy', '1.0.0'), leafSigner(ca, RELEASE));
      expect([r.status, r.body.code]).toEqual([403, 'SIGNER_NOT_ALLOWED']);
    }
  });
});

describe('when a reviewer binding is removed', () => {
  it('refuses that reviewer’s next approval, records reviewer.remove, and answers NOT_FOUND after', async () => {
    const removed = await call(`/v1/reviewers/frank?fingerprint=${encodeURIComponent(`${ERIN} ${B}`)}`, ADMIN, 'DELETE');
    expect(removed).toEqual({ status: 200, body: { principal: 'frank', removed: [{ principal: 'frank', kind: 'identity', fingerprint: `${ERIN} ${B}`, ca: B }] } });
    expect((await auditOf('reviewer.remove')).map((e) => [e.subject, JSON.parse(e.details)])).toEqual([['frank', { fingerprints: [`${ERIN} ${B}`] }]]);
    expect((await call('/v1/reviewers', ADMIN, 'GET')).body.reviewers).toEqual([{ principal: 'erin', kind: 'identity', fingerprint: `${ERIN} ${A}`, ca: A }]);
    const manifest = manifestOf('io.github.teama', '1.2.0');
    expect((await publish(manifest, leafSigner(caA, RELEASE))).status).toBe(201);
    const refused = await approve(manifest, t.frank, 'frank', leafSigner(caB, ERIN));
    expect([refused.status, refused.body.code]).toEqual([403, 'SIGNER_NOT_ALLOWED']);
    expect((await call('/v1/reviewers/frank', ADMIN, 'DELETE')).body.code).toBe('NOT_FOUND');
    expect((await call('/v1/reviewers/erin', t.erin, 'DELETE')).status).toBe(403);
  });
});

describe('when an identity names another certificate of a registered chain (its root)', () => {
  // One chain, two names: the intermediate I that issues the leaves (what `sigil ca register`
  // answers) and its root R. Both name the same CA, so both are stored as I.
  const root = createCa({ name: 'Org Root' });
  const inter = createIntermediateCa(root, { name: 'Org Issuing' });
  const I = certificateFingerprint(inter.certificatePem);
  const R = certificateFingerprint(root.certificatePem);
  const DUAL = 'mailto:dual@a.example';
  beforeAll(async () => {
    expect((await call('/v1/certificate-authorities', ADMIN, 'POST', { certificates: inter.chainPem })).body).toEqual({ fingerprint: I });
  });

  it('stores a ca naming the root as the registered CA, so a signer and a builder under I and R are one identity (self-vouching refused)', async () => {
    const before = await counts();
    const put = await call('/v1/allowlist/io.github.chain', ADMIN, 'PUT', { signers: [{ identity: RELEASE, ca: I }], builders: [{ builderId, identity: RELEASE, ca: R }] });
    expect([put.status, put.body.code]).toEqual([422, 'REQUEST_INVALID']);
    expect(String(put.body.detail)).toContain('vouching for itself');
    expect(await counts()).toBe(before);
    const ok = await call('/v1/allowlist/io.github.chain', ADMIN, 'PUT', { signers: [{ identity: RELEASE, ca: R }, { identity: RELEASE, ca: I }], builders: [{ builderId, identity: BUILD, ca: R }] });
    expect(ok.status).toBe(200);
    expect(ok.body.signers).toEqual([{ kind: 'identity', fingerprint: `${RELEASE} ${I}`, identity: RELEASE, ca: I }]);
    expect(ok.body.builders).toEqual([{ builderId, kind: 'identity', fingerprint: `${BUILD} ${I}`, identity: BUILD, ca: I }]);
    // A leaf issued by I matches the binding written as R, for the manifest and the provenance.
    const manifest = manifestOf('io.github.chain', '1.0.0');
    const self = await publish(manifest, leafSigner(inter, RELEASE), leafSigner(inter, RELEASE));
    expect([self.status, self.body.code]).toEqual([422, 'PROVENANCE_INVALID']);
    expect((await publish(manifest, leafSigner(inter, RELEASE), leafSigner(inter, BUILD))).status).toBe(201);
  });

  it('refuses to bind one identity to two reviewers under I and under R (CONFLICT)', async () => {
    expect((await call('/v1/reviewers', ADMIN, 'POST', { principal: 'erin', identity: DUAL, ca: I })).status).toBe(201);
    const before = await counts();
    const second = await call('/v1/reviewers', ADMIN, 'POST', { principal: 'frank', identity: DUAL, ca: R });
    expect([second.status, second.body.code]).toEqual([409, 'CONFLICT']);
    expect(await counts()).toBe(before);
    // The same principal again under R is the binding it already has: stored as I.
    expect((await call('/v1/reviewers', ADMIN, 'POST', { principal: 'erin', identity: DUAL, ca: R })).body).toEqual({ principal: 'erin', kind: 'identity', fingerprint: `${DUAL} ${I}`, ca: I });
  });

  it('refuses a root shared by two registered chains as ambiguous, and sees overlapping legacy rows as one identity', async () => {
    const other = createIntermediateCa(root, { name: 'Org Issuing 2' });
    const I2 = certificateFingerprint(other.certificatePem);
    expect((await call('/v1/certificate-authorities', ADMIN, 'POST', { certificates: other.chainPem })).body).toEqual({ fingerprint: I2 });
    const ambiguous = await call('/v1/reviewers', ADMIN, 'POST', { principal: 'frank', identity: 'mailto:solo@a.example', ca: R });
    expect([ambiguous.status, ambiguous.body.code]).toEqual([422, 'REQUEST_INVALID']);
    expect(String(ambiguous.body.detail)).toContain(I2);
    // A row written as R before names were normalised overlaps both chains: one identity.
    const fp = `${DUAL} ${R}`;
    await database.raw.run("insert into reviewers (principal, kind, value, fingerprint, ca, created_at) values ('grace', 'identity', ?, ?, ?, ?)", [DUAL, fp, R, '2026-11-30T00:00:00.000Z']);
    const overlapping = await call('/v1/reviewers', ADMIN, 'POST', { principal: 'frank', identity: DUAL, ca: I2 });
    expect([overlapping.status, overlapping.body.code]).toEqual([409, 'CONFLICT']);
  });
});

/**
 * The migrations folder of this dialect as it was before identities carried their CA (without
 * 0007_identity_ca, pg/0004_identity_ca, and every migration after it): a registry of the
 * version before.
 */
function previousMigrations(): string {
  const dialect = testDialect();
  const from = fileURLToPath(new URL(dialect === 'sqlite' ? '../../../migrations' : '../../../migrations/pg', import.meta.url));
  const to = join(dir, `migrations-before-ca-${dialect}`);
  cpSync(from, to, { recursive: true });
  const journalPath = join(to, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: Array<{ tag: string }> };
  const at = journal.entries.findIndex((e) => /_identity_ca$/.test(e.tag));
  expect(at).toBeGreaterThan(0);
  for (const later of journal.entries.splice(at)) rmSync(join(to, `${later.tag}.sql`));
  writeFileSync(journalPath, JSON.stringify(journal));
  return to;
}

describe('when a registry of the previous version is upgraded with one CA registered', () => {
  beforeAll(async () => {
    // The rows the previous version wrote: an identity without a CA, beside its one CA.
    upgraded = await createTestStore(join(dir, 'upgraded'));
    const before = upgraded.url ? await openPostgres(upgraded.url, { migrationsFolder: previousMigrations() }) : openDatabase(upgraded.path, { migrationsFolder: previousMigrations() });
    const at = '2026-11-01T00:00:00.000Z';
    await before.raw.run('insert into certificate_authorities (fingerprint, chain_pem, created_at) values (?, ?, ?)', [A, caA.chainPem, at]);
    await before.raw.run('insert into allowlist (pattern, created_at, updated_at) values (?, ?, ?)', ['io.github.older', at, at]);
    await before.raw.run("insert into allowlist_signers (pattern, kind, value, fingerprint) values (?, 'identity', ?, ?)", ['io.github.older', RELEASE, RELEASE]);
    await before.close();
    // This version over that database: the migration runs, and the helpers above talk to it.
    await database.close();
    database = await openStore(upgraded);
    deps = { ...deps, db: database.db };
    app = createApp(deps);
    await bootstrapAdmin(deps, ADMIN);
    t.publisher = (await createToken(deps, { name: 'admin', role: 'admin', namespaces: [], tokenId: null }, { principal: 'older-ci', role: 'publisher', namespaces: ['io.github.*'] })).token;
  });

  it('keeps its unbound identity signing under its only CA, and binds it to that CA when a second is registered', async () => {
    expect((await call('/v1/allowlist/io.github.older', ADMIN, 'GET')).body.signers).toEqual([{ kind: 'identity', fingerprint: RELEASE, identity: RELEASE }]);
    expect((await publish(manifestOf('io.github.older', '1.0.0'), leafSigner(caA, RELEASE))).status).toBe(201);
    expect((await call('/v1/certificate-authorities', ADMIN, 'POST', { certificates: caB.chainPem })).status).toBe(201);
    expect((await call('/v1/allowlist/io.github.older', ADMIN, 'GET')).body.signers).toEqual([{ kind: 'identity', fingerprint: `${RELEASE} ${A}`, identity: RELEASE, ca: A }]);
    const forged = await publish(manifestOf('io.github.older', '1.1.0'), leafSigner(caB, RELEASE));
    expect([forged.status, forged.body.code]).toEqual([403, 'SIGNER_NOT_ALLOWED']);
    expect((await publish(manifestOf('io.github.older', '1.1.0'), leafSigner(caA, RELEASE))).status).toBe(201);
  });
});
