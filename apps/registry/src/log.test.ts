import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, VerificationError, Verifier } from '@sigstore/verify';
import { createPublicKey } from 'node:crypto';
import { auditTip, checkpointCovering, logEntriesFor, logEntriesRange, logEntryAt, logSize, openStore, type Store } from '@sigil/db';
import { LogProofsResponse, manifestDigest } from '@sigil/manifest';
import { createSigner, generateKeyPair, signApprovalStatement, signManifestStatement } from '@sigil/signing/sign';
import type { SigningError} from '@sigil/signing/verify';
import { publicKeyFingerprint, SignerPolicy, verifyManifestBundle } from '@sigil/signing/verify';
import { ed25519NoteVerifier, hashLeaf, logOrigin, openCheckpoint, parseEntryBundle, verifyConsistency, verifyInclusion } from '@sigil/tlog';
import { createTestStore, weatherManifest, type TestStore } from '@sigil/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from './app.js';
import { DEFAULT_SETTINGS } from './config.js';
import type { Deps } from './deps.js';
import { loadRegistryKeys } from './keys.js';
import { createLinter } from './linter.js';
import { createMetrics } from './metrics.js';
import { logRegistryKeys } from './services/append-log.js';
import { bootstrapAdmin, createToken } from './services/create-token.js';

/**
 * The registry's transparency log end to end in-process: real SQLite file (or PostgreSQL
 * database), real signed bundles, the log's checkpoints, tiles and proofs read back over HTTP
 * and checked with @sigil/tlog and the stock @sigstore/verify Verifier.
 */

const TLOG_URL = 'https://registry.sigil.test/v1/log';
const INTERVAL = 400;
const dir = mkdtempSync(join(tmpdir(), 'sigil-log-'));
let store: TestStore;
let database: Store;
let deps: Deps;
let app: App;
const ADMIN = 'log-test-admin-token-0000000000000';
const publisherKey = generateKeyPair();
const aliceKey = generateKeyPair();
const t = {} as { publisher: string; alice: string; reader: string };

const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const auth = (token: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
async function call(path: string, init: RequestInit = {}) {
  const res = await app.request(path, init);
  const text = await res.text();
  return { status: res.status, text, body: text && res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}
async function publish(version: string) {
  const manifest = weatherManifest({ version });
  const bundle = (await signManifestStatement(manifest, createSigner({ privateKey: publisherKey.privateKeyPem }))) as unknown as Record<string, unknown>;
  const r = await call('/v1/publish', auth(t.publisher, json({ manifest, bundle })));
  expect(r.status).toBe(201);
  return { manifest, bundle };
}
const verifier = () => ed25519NoteVerifier(logOrigin(TLOG_URL), deps.keys.logPublicKey);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Entries logged for records (every entry but the audit heads the checkpoints add). */
const logged = async () => (await logEntriesRange(database.db, 0, 256)).filter((e) => e.kind !== 'audit-head').length;

beforeAll(async () => {
  store = await createTestStore(dir);
  database = await openStore(store);
  deps = {
    db: database.db,
    keys: await loadRegistryKeys(join(dir, 'keys')),
    settings: { ...DEFAULT_SETTINGS, tlogUrl: TLOG_URL, logCheckpointMs: INTERVAL },
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(),
    linter: createLinter(),
  };
  await bootstrapAdmin(deps, ADMIN);
  await logRegistryKeys(deps, new Date().toISOString());
  app = createApp(deps);
  const admin = { name: 'admin', role: 'admin' as const, namespaces: [], tokenId: null };
  t.publisher = (await createToken(deps, admin, { principal: 'acme-ci', role: 'publisher', namespaces: ['io.github.acme'] })).token;
  t.alice = (await createToken(deps, admin, { principal: 'alice', role: 'security' })).token;
  t.reader = (await createToken(deps, admin, { principal: 'host', role: 'reader' })).token;
  expect((await call('/v1/allowlist/io.github.acme', auth(ADMIN, { ...json({ signers: [{ publicKey: publisherKey.publicKeyPem }] }), method: 'PUT' }))).status).toBe(200);
  expect((await call('/v1/reviewers', auth(ADMIN, json({ principal: 'alice', publicKey: aliceKey.publicKeyPem })))).status).toBe(201);
});
afterAll(async () => {
  await database?.close();
  await store?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('when the registry accepts a publish, an approval, a rejection and a revocation', () => {
  it('logs each in the same transaction as its record, and signs a checkpoint at once when idle', async () => {
    const keysLogged = await logged();
    expect(keysLogged).toBe(2); // the status key and the log key
    await sleep(INTERVAL);
    await publish('1.0.0');
    expect((await logged())).toBe(keysLogged + 2); // dsse and hashedrekord forms
    const cp = await call('/v1/log/checkpoint', auth(t.reader));
    expect(cp.status).toBe(200);
    const opened = openCheckpoint(cp.text, verifier());
    expect(opened.checkpoint.size).toBe(await logSize(database.db));
    expect(opened.checkpoint.origin).toBe('registry.sigil.test');

    const manifest = weatherManifest({ version: '1.0.0' });
    const approval = await signApprovalStatement({ name: manifest.name, version: '1.0.0', digest: manifestDigest(manifest) }, { reviewer: 'alice', decision: 'approved', risk: 'low' }, createSigner({ privateKey: aliceKey.privateKeyPem }));
    expect((await call('/v1/servers/io.github.acme/weather/versions/1.0.0/approvals', auth(t.alice, json({ bundle: approval })))).status).toBe(201);
    expect((await logged())).toBe(keysLogged + 4);
    await publish('1.0.1');
    expect((await call('/v1/servers/io.github.acme/weather/versions/1.0.1/rejections', auth(t.alice, json({ reason: 'no' })))).status).toBe(201);
    expect((await call('/v1/servers/io.github.acme/weather/versions/1.0.0/revocations', auth(t.alice, json({ reason: 'key leaked' })))).status).toBe(201);
    expect((await logged())).toBe(keysLogged + 8);
    // A refused decision logs nothing. Counted without audit heads: the log commits the audit chain's
    // head on its own schedule, so on a loaded machine one may land between the two counts.
    const before = await logged();
    expect((await call('/v1/servers/io.github.acme/weather/versions/1.0.0/revocations', auth(t.alice, json({ reason: 'again' })))).status).toBe(409);
    expect(await logged()).toBe(before);
  });

  it("logs the audit chain's head at every checkpoint, so a truncated chain no longer matches", async () => {
    await sleep(INTERVAL + 100); // the checkpoint pending from the last test is signed
    const checkpoints = await database.raw.all<{ size: number }>('SELECT size FROM log_checkpoints ORDER BY size');
    const heads = (await logEntriesRange(database.db, 0, 256)).filter((e) => e.kind === 'audit-head');
    // Every checkpoint but the empty tree's covers the audit head logged just before it was signed.
    for (const { size } of checkpoints.filter((c) => c.size > 0)) {
      const last = (await logEntryAt(database.db, size - 1))!;
      expect(last.kind).toBe('audit-head');
    }
    expect(heads.length).toBe(checkpoints.filter((c) => c.size > 0).length);
    const spec = (body: Buffer) => (JSON.parse(body.toString('utf8')) as { spec: { event: string; subject: string; audit: { seq: number; hash: string } } }).spec;
    const newest = spec(heads.at(-1)!.body);
    expect(newest.event).toBe('audit-head');
    expect(newest.subject).toBe(`audit:${newest.audit.seq}`);
    // The logged head is an event of the chain as it stands (an auditor's check against /v1/audit).
    const event = await database.raw.get<{ hash: string }>('SELECT hash FROM audit_events WHERE seq = ?', [newest.audit.seq]);
    expect(event?.hash).toBe(newest.audit.hash);
    expect(await auditTip(database.db)).toEqual(newest.audit);
  });

  it('returns version records whose bundle carries its entry, proved in the first checkpoint covering it', async () => {
    const record = (await call('/v1/servers/io.github.acme/weather/versions/1.0.0', auth(t.reader))).body as { bundle: { verificationMaterial: { tlogEntries?: { logIndex: string; inclusionProof: { treeSize: string } }[] } } };
    const items = record.bundle.verificationMaterial.tlogEntries!;
    expect(items).toHaveLength(1);
    const row = (await logEntriesFor(database.db, 'io.github.acme/weather@1.0.0', 'manifest')).find((e) => e.form === 'dsse')!;
    expect(items[0]!.logIndex).toBe(String(row.idx));
    expect(Number(items[0]!.inclusionProof.treeSize)).toBe((await checkpointCovering(database.db, row.idx + 1))!.size);
    // The same bytes on every read: the proof is never recomputed against a newer checkpoint.
    await publish('1.0.2');
    await sleep(INTERVAL + 100);
    const again = (await call('/v1/servers/io.github.acme/weather/versions/1.0.0', auth(t.reader))).text;
    expect(JSON.parse(again)).toEqual(record);
    // Sigil's verifier with the registry's trusted root checks and reports the entry.
    const root = (await call('/v1/trusted-root')).body;
    const verified = verifyManifestBundle(record.bundle, weatherManifest({ version: '1.0.0' }), SignerPolicy.parse({ publicKeys: [publisherKey.publicKeyPem], trustedRoot: root }));
    expect(verified.log?.[0]?.logIndex).toBe(row.idx);
  });

  it('signs at most one checkpoint per interval under load, then covers every entry', async () => {
    // Idle: a checkpoint pending from the last test is signed within one interval, then one more passes.
    await sleep(2 * INTERVAL + 100);
    await publish('2.0.0'); // idle: signed at once
    const first = openCheckpoint((await call('/v1/log/checkpoint', auth(t.reader))).text, verifier()).checkpoint.size;
    expect(first).toBe(await logSize(database.db));
    // A burst: at most one checkpoint per interval. Judged by the signing times the registry
    // stored, not by reading the checkpoint between publishes (a slow publish under load, as on
    // PostgreSQL, can outlast the interval, when a new checkpoint is due).
    for (const version of ['2.0.1', '2.0.2', '2.0.3', '2.0.4']) await publish(version);
    await sleep(INTERVAL + 100);
    expect(openCheckpoint((await call('/v1/log/checkpoint', auth(t.reader))).text, verifier()).checkpoint.size).toBe(await logSize(database.db));
    const signed = await database.raw.all<{ size: number; signed_at: string }>('SELECT size, signed_at FROM log_checkpoints WHERE size >= ? ORDER BY size', [first]);
    expect(signed.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < signed.length; i++) expect(Date.parse(signed[i]!.signed_at) - Date.parse(signed[i - 1]!.signed_at)).toBeGreaterThanOrEqual(INTERVAL);
  });
});

describe('when a host reads the log', () => {
  it('lists the log in /v1/trusted-root', async () => {
    const root = (await call('/v1/trusted-root')).body as { tlogs: { baseUrl: string; publicKey: { keyDetails: string } }[] };
    expect(root.tlogs).toHaveLength(1);
    expect(root.tlogs[0]!.baseUrl).toBe(TLOG_URL);
    expect(root.tlogs[0]!.publicKey.keyDetails).toBe('PKIX_ED25519');
  });

  it('returns the bundle with its tlogEntries item, which the stock Verifier counts with threshold 1', async () => {
    const r = await call('/v1/log/proof?leaf=io.github.acme/weather@2.0.0', auth(t.reader));
    expect(r.status).toBe(200);
    const bundle = r.body.bundle as Record<string, unknown>;
    const root = (await call('/v1/trusted-root')).body;
    const key = createPublicKey(publisherKey.publicKeyPem);
    const stock = (b: unknown, trustedRoot: unknown) => {
      try {
        const material = toTrustMaterial(TrustedRoot.fromJSON(trustedRoot), () => ({ publicKey: key, validFor: () => true }));
        new Verifier(material, { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundleFromJSON(b)));
        return 'verified';
      } catch (e) {
        if (e instanceof VerificationError) return e.code;
        throw e;
      }
    };
    expect(stock(bundle, root)).toBe('verified');
    expect(stock({ ...bundle, verificationMaterial: { ...(bundle.verificationMaterial as object), tlogEntries: [] } }, root)).toBe('TLOG_ERROR');
    // And Sigil's own verification, given the registry's trusted root, reports where it sits.
    const policy = SignerPolicy.parse({ publicKeys: [publisherKey.publicKeyPem], trustedRoot: root });
    const verified = verifyManifestBundle(bundle, weatherManifest({ version: '2.0.0' }), policy);
    expect(verified.log?.[0]?.logIndex).toBe(r.body.logIndex);
    expect(verified.signer.kind === 'key' && verified.signer.keyFingerprint).toBe(publicKeyFingerprint(publisherKey.publicKeyPem));
  });

  it('refuses a bundle whose inclusion proof is for another leaf (LOG_ENTRY_INVALID)', async () => {
    const mine = (await call('/v1/log/proof?leaf=io.github.acme/weather@2.0.0', auth(t.reader))).body;
    const other = (await call('/v1/log/proof?leaf=io.github.acme/weather@2.0.1', auth(t.reader))).body;
    const bundle = mine.bundle as { verificationMaterial: Record<string, unknown> };
    const swapped = { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [other.tlogEntry] } };
    const root = (await call('/v1/trusted-root')).body;
    const policy = SignerPolicy.parse({ publicKeys: [publisherKey.publicKeyPem], trustedRoot: root });
    try {
      verifyManifestBundle(swapped, weatherManifest({ version: '2.0.0' }), policy);
      expect.unreachable();
    } catch (e) {
      expect((e as SigningError).code).toBe('LOG_ENTRY_INVALID');
    }
  });

  it('serves proofs by index and leaf hash that verify against the signed checkpoint', async () => {
    const byIndex = (await call('/v1/log/proof?leaf=3', auth(t.reader))).body as { leafHash: string; treeSize: number; hashes: string[]; checkpoint: string; logIndex: number };
    const cp = openCheckpoint(byIndex.checkpoint, verifier()).checkpoint;
    expect(cp.size).toBe(byIndex.treeSize);
    const byHash = (await call(`/v1/log/proof?leaf=${byIndex.leafHash}`, auth(t.reader))).body;
    expect(byHash.logIndex).toBe(3);
    verifyInclusion(3, cp.size, Buffer.from(byIndex.leafHash, 'hex'), byIndex.hashes.map((h) => Buffer.from(h, 'base64')), cp.root);
    expect((await call('/v1/log/proof?leaf=999999', auth(t.reader))).status).toBe(404);
    expect((await call('/v1/log/proof?leaf=%20', auth(t.reader))).body.code).toBe('REQUEST_INVALID');
  });

  it('serves consistency proofs between two sizes', async () => {
    const to = openCheckpoint((await call('/v1/log/checkpoint', auth(t.reader))).text, verifier()).checkpoint;
    const from = (await checkpointCovering(database.db, 1))!.size; // the first signed checkpoint
    const old = (await call(`/v1/log/proof?leaf=0&size=${from}`, auth(t.reader))).body as { rootHash: string };
    const r = (await call(`/v1/log/consistency?from=${from}&to=${to.size}`, auth(t.reader))).body as { hashes: string[] };
    verifyConsistency(from, to.size, r.hashes.map((h) => Buffer.from(h, 'base64')), Buffer.from(old.rootHash, 'base64'), to.root);
    expect((await call(`/v1/log/consistency?from=${to.size + 1}`, auth(t.reader))).body.code).toBe('REQUEST_INVALID');
  });

  it("proves versions' manifest, approval and decision entries in one signed tree (POST /v1/log/proofs), or in the tree of a given signed size", async () => {
    const ref = 'io.github.acme/weather@1.0.0';
    const r = await call('/v1/log/proofs', auth(t.reader, json({ refs: [ref, 'io.github.acme/weather@9.9.9'] })));
    expect(r.status).toBe(200);
    const answer = LogProofsResponse.parse(r.body);
    const cp = openCheckpoint(answer.checkpoint, verifier()).checkpoint;
    expect(answer.treeSize).toBe(cp.size);
    // 1.0.0 was approved, then revoked (first test): its signatures' dsse entries and the decision.
    expect(answer.entries.map((e) => e.kind).sort()).toEqual(['approval', 'manifest', 'revocation']);
    for (const e of answer.entries) {
      const body = Buffer.from(e.body, 'base64');
      expect(e.ref).toBe(ref);
      expect((JSON.parse(body.toString('utf8')) as { kind: string }).kind).toBe(e.kind === 'revocation' ? 'sigil-event' : 'dsse');
      verifyInclusion(e.logIndex, cp.size, hashLeaf(body), e.hashes.map((h) => Buffer.from(h, 'base64')), cp.root);
    }
    // In an older signed tree: the same entries that tree holds, proved in it.
    const manifestIndex = answer.entries.find((e) => e.kind === 'manifest')!.logIndex;
    const signed = (await database.raw.all<{ size: number }>('SELECT size FROM log_checkpoints ORDER BY size')).map((c) => c.size);
    const older = signed.find((size) => size > manifestIndex)!;
    const atOlder = LogProofsResponse.parse((await call('/v1/log/proofs', auth(t.reader, json({ refs: [ref], size: older })))).body);
    expect(atOlder.treeSize).toBe(older);
    expect(atOlder.entries.map((e) => e.logIndex)).toEqual(answer.entries.filter((e) => e.logIndex < older).map((e) => e.logIndex));
    const olderRoot = openCheckpoint(atOlder.checkpoint, verifier()).checkpoint.root;
    for (const e of atOlder.entries) verifyInclusion(e.logIndex, older, hashLeaf(Buffer.from(e.body, 'base64')), e.hashes.map((h) => Buffer.from(h, 'base64')), olderRoot);
    const unsigned = [...Array(cp.size).keys()].find((size) => size > 0 && !signed.includes(size));
    if (unsigned !== undefined) expect((await call('/v1/log/proofs', auth(t.reader, json({ refs: [ref], size: unsigned })))).body.code).toBe('NOT_FOUND');
    const tooMany = (await call('/v1/log/proofs', auth(t.reader, json({ refs: Array.from({ length: 65 }, () => ref) })))).body;
    expect(tooMany.code).toBe('REQUEST_INVALID');
    // A body's field, said to be one: not "invalid query".
    expect(tooMany.detail).toMatch(/^invalid body: refs /);
    expect((await call('/v1/log/proofs', json({ refs: [ref] }))).status).toBe(401);
  });

  it('serves immutable hash and entry tiles under the signed size, and nothing beyond', async () => {
    const size = openCheckpoint((await call('/v1/log/checkpoint', auth(t.reader))).text, verifier()).checkpoint.size;
    const hashes = await app.request(`/v1/log/tile/0/000.p/${size}`, auth(t.reader));
    expect(hashes.status).toBe(200);
    expect(hashes.headers.get('cache-control')).toContain('immutable');
    const bytes = new Uint8Array(await hashes.arrayBuffer());
    expect(bytes.length).toBe(size * 32);
    const entries = await app.request(`/v1/log/tile/entries/000.p/${size}`, auth(t.reader));
    const bodies = parseEntryBundle(new Uint8Array(await entries.arrayBuffer()), size);
    bodies.forEach((body, i) => expect(Buffer.from(hashLeaf(body))).toEqual(Buffer.from(bytes.subarray(i * 32, (i + 1) * 32))));
    expect((await app.request(`/v1/log/tile/0/000.p/${size + 1}`, auth(t.reader))).status).toBe(404);
    expect((await app.request('/v1/log/tile/0/000.p/256', auth(t.reader))).status).toBe(422);
    expect((await app.request('/v1/log/tile/0/x000/001', auth(t.reader))).status).toBe(422);
  });
});

describe('when the registry restarts', () => {
  it('reads the log and its newest checkpoint back from the database, with no rebuild', async () => {
    const before = openCheckpoint((await call('/v1/log/checkpoint', auth(t.reader))).text, verifier()).checkpoint;
    const again = await openStore(store);
    try {
      const restarted = createApp({ ...deps, db: again.db });
      const text = await (await restarted.request('/v1/log/checkpoint', auth(t.reader))).text();
      expect(openCheckpoint(text, verifier()).checkpoint.size).toBe(before.size);
    } finally {
      await again.close();
    }
  });
});
