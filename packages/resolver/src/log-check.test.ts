import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { canonicalJson, manifestDigest, sha256, type LogProofEntry, type VersionRecord } from '@sigil/manifest';
import { createSigner, generateKeyPair, signApprovalStatement, signManifestStatement } from '@sigil/signing/sign';
import { trustedLogs, type TrustedLog } from '@sigil/signing/verify';
import { weatherManifest } from '@sigil/testing';
import { dsseEntry, ed25519NoteSigner, hashLeaf, inclusionProof, logOrigin, MemoryHashStore, signCheckpoint, transparencyLogInstance, treeRoot } from '@sigil/tlog';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkStoredProof } from './checkpoint-store.js';
import { ResolveError } from './errors.js';
import { checkLogged, openLogCheckpoint, type LogCheckpoint } from './log-check.js';
import type { VerifiedVersion } from './verify-version.js';

// The host's log checks on their own, with real signatures, a real Ed25519-signed checkpoint and
// an in-memory RFC 6962 tree; the whole flow against the registry is test/host-log.test.ts.
const URL_ = 'https://registry.sigil.test/v1/log';
const origin = logOrigin(URL_);
const logKey = generateKeyPairSync('ed25519');
const otherKey = generateKeyPairSync('ed25519');
const logs: TrustedLog[] = trustedLogs({
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [transparencyLogInstance({ baseUrl: URL_, publicKey: logKey.publicKey, validFrom: new Date(0) })],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
} as never);
const publisher = generateKeyPair();
const reviewer = generateKeyPair();
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const spki = (pem: string) => createPublicKey(pem).export({ type: 'spki', format: 'der' });

let version: VerifiedVersion;
let store: MemoryHashStore;
let entries: LogProofEntry[];
let checkpoint: string;

function code(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (e) {
    if (e instanceof ResolveError) return e.code;
    throw e;
  }
}
function entryOf(bundle: Record<string, unknown>, keyPem: string) {
  const env = (bundle as { dsseEnvelope: { payload: string; payloadType: string; signatures: Array<{ sig: string }> } }).dsseEnvelope;
  return dsseEntry({
    envelope: { payloadType: env.payloadType, payload: Buffer.from(env.payload, 'base64'), signatures: [{ sig: Buffer.from(env.signatures[0]!.sig, 'base64') }] },
    verifiers: [{ publicKey: spki(keyPem), keyDetails: 'PKIX_ECDSA_P256_SHA_256' }],
  });
}
function sign(size: number, key = logKey.privateKey): string {
  return signCheckpoint({ origin, size, root: treeRoot(size, store), extensions: [] }, ed25519NoteSigner(origin, key));
}
const opened = (envelope: string): LogCheckpoint => openLogCheckpoint(envelope, logs, 'registry');

beforeAll(async () => {
  const manifest = weatherManifest({ version: '1.0.0' });
  const digest = manifestDigest(manifest);
  const bundle = (await signManifestStatement(manifest, createSigner({ privateKey: publisher.privateKeyPem }))) as unknown as Record<string, unknown>;
  const approval = (await signApprovalStatement({ name: manifest.name, version: '1.0.0', digest }, { decision: 'approved', reviewer: 'alice', risk: 'low' }, createSigner({ privateKey: reviewer.privateKeyPem }))) as unknown as Record<string, unknown>;
  const approvalDigest = sha256(canonicalJson(approval));
  const record = { name: manifest.name, version: '1.0.0', digest, manifest, bundle, approvals: [{ digest: approvalDigest, reviewer: 'alice', bundle: approval, createdAt: new Date().toISOString() }] } as unknown as VersionRecord;
  version = { name: manifest.name, version: '1.0.0', digest, approvals: [approvalDigest], record } as unknown as VerifiedVersion;
  store = new MemoryHashStore();
  for (let i = 0; i < 37; i++) store.append(Buffer.alloc(32, i));
  const ref = `${manifest.name}@1.0.0`;
  const bodies = [
    { kind: 'manifest' as const, body: entryOf(bundle, publisher.publicKeyPem) },
    { kind: 'approval' as const, body: entryOf(approval, reviewer.publicKeyPem) },
  ];
  const placed = bodies.map((b) => ({ ref, kind: b.kind, logIndex: store.append(b.body.leafHash), body: b64(b.body.bytes) }));
  for (let i = 0; i < 20; i++) store.append(Buffer.alloc(32, 100 + i));
  entries = placed.map((e) => ({ ...e, hashes: inclusionProof(e.logIndex, store.size, store).map(b64) }));
  checkpoint = sign(store.size);
});

describe('when a checkpoint is opened with the pinned log key', () => {
  it('accepts the log key for its origin and refuses another key, another origin or a malformed note', () => {
    expect(opened(checkpoint).verified.checkpoint.size).toBe(store.size);
    expect(code(() => opened(sign(store.size, otherKey.privateKey)))).toBe('SIGNATURE_INVALID');
    expect(code(() => opened(checkpoint.replace(origin, 'elsewhere.test')))).toBe('SIGNATURE_INVALID');
    expect(code(() => opened(checkpoint.replace('\n\n', '\n')))).toBe('RESPONSE_INVALID');
    expect(code(() => openLogCheckpoint(sign(store.size, otherKey.privateKey), logs, 'store'))).toBe('STORE_INVALID');
  });
});

describe('when a version is checked against the log', () => {
  it('accepts its manifest and approval entries with proofs to the root, and returns the entries used', () => {
    expect(checkLogged(version, entries, opened(checkpoint).verified.checkpoint).map((e) => e.kind)).toEqual(['manifest', 'approval']);
  });

  it('refuses a missing manifest or approval entry with LOG_ENTRY_MISSING', () => {
    const cp = opened(checkpoint).verified.checkpoint;
    expect(code(() => checkLogged(version, entries.filter((e) => e.kind !== 'approval'), cp))).toBe('LOG_ENTRY_MISSING');
    expect(code(() => checkLogged(version, entries.filter((e) => e.kind !== 'manifest'), cp))).toBe('LOG_ENTRY_MISSING');
    expect(code(() => checkLogged(version, entries.map((e) => ({ ...e, ref: 'io.github.acme/other@1.0.0' })), cp))).toBe('LOG_ENTRY_MISSING');
  });

  it('refuses another leaf offered for the manifest, a flipped proof hash, a proof for another tree or a non-canonical hash with LOG_ENTRY_INVALID', () => {
    const cp = opened(checkpoint).verified.checkpoint;
    const [manifest, approval] = entries as [LogProofEntry, LogProofEntry];
    expect(code(() => checkLogged(version, [{ ...approval, kind: 'manifest' }, approval], cp))).toBe('LOG_ENTRY_INVALID');
    const flipped = Buffer.from(manifest.hashes[0]!, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    expect(code(() => checkLogged(version, [{ ...manifest, hashes: [b64(flipped), ...manifest.hashes.slice(1)] }, approval], cp))).toBe('LOG_ENTRY_INVALID');
    expect(code(() => checkLogged(version, [{ ...manifest, logIndex: approval.logIndex }, approval], cp))).toBe('LOG_ENTRY_INVALID');
    expect(code(() => checkLogged(version, entries, opened(sign(store.size - 1)).verified.checkpoint))).toBe('LOG_ENTRY_INVALID');
    expect(code(() => checkLogged(version, [{ ...manifest, hashes: [manifest.hashes[0]!.replace(/=$/, 'A'), ...manifest.hashes.slice(1)] }, approval], cp))).toBe('LOG_ENTRY_INVALID');
  });
});

describe('when a version is checked offline from its stored proofs', () => {
  const text = () => JSON.stringify({ checkpoint, entries });
  it('accepts proofs in the stored tree or an older one, with one signature check per checkpoint', () => {
    const memo = new Map<string, LogCheckpoint>();
    checkStoredProof(version, text(), opened(checkpoint), logs, memo);
    store.append(Buffer.alloc(32, 7));
    checkStoredProof(version, text(), opened(sign(store.size)), logs, memo);
    expect(memo.size).toBe(1);
  });

  it('refuses a proof for a newer tree, or another root of the same size (STORE_INVALID), a malformed file (STORE_INVALID) and none (REGISTRY_UNREACHABLE)', () => {
    const memo = new Map<string, LogCheckpoint>();
    const older = opened(sign(store.size - 3));
    expect(code(() => checkStoredProof(version, text(), older, logs, memo))).toBe('STORE_INVALID');
    const fork = signCheckpoint({ origin, size: opened(checkpoint).verified.checkpoint.size, root: Buffer.alloc(32, 9), extensions: [] }, ed25519NoteSigner(origin, logKey.privateKey));
    expect(code(() => checkStoredProof(version, text(), opened(fork), logs, memo))).toBe('STORE_INVALID');
    expect(code(() => checkStoredProof(version, '{"checkpoint":1}', opened(checkpoint), logs, memo))).toBe('STORE_INVALID');
    expect(code(() => checkStoredProof(version, undefined, opened(checkpoint), logs, memo))).toBe('REGISTRY_UNREACHABLE');
  });
});

describe('when the log records a decision the signed status does not show', () => {
  it('refuses a proved revocation (REVOKED) or rejection (NOT_APPROVED), and one that does not prove (LOG_ENTRY_INVALID)', () => {
    const ref = `${version.name}@1.0.0`;
    const event = (kind: string) => Buffer.from(canonicalJson({ apiVersion: '0.0.1', kind: 'sigil-event', spec: { event: kind, subject: ref, reason: 'key leaked' } }));
    const placed = (['revocation', 'rejection'] as const).map((kind) => ({ ref, kind, logIndex: store.append(hashLeaf(event(kind))), body: b64(event(kind)) }));
    const cp = opened(sign(store.size)).verified.checkpoint;
    const proved = (list: Array<Omit<LogProofEntry, 'hashes'>>) => list.map((e) => ({ ...e, hashes: inclusionProof(e.logIndex, store.size, store).map(b64) }));
    const base = proved(entries);
    const [revocation, rejection] = proved(placed) as [LogProofEntry, LogProofEntry];
    expect(code(() => checkLogged(version, base, cp))).toBe('none');
    expect(code(() => checkLogged(version, [...base, revocation], cp))).toBe('REVOKED');
    expect(code(() => checkLogged(version, [...base, rejection], cp))).toBe('NOT_APPROVED');
    expect(code(() => checkLogged(version, [...base, { ...revocation, logIndex: rejection.logIndex }], cp))).toBe('LOG_ENTRY_INVALID');
    expect(code(() => checkLogged(version, [...base, { ...revocation, kind: 'rejection' }], cp))).toBe('LOG_ENTRY_INVALID');
  });
});
