import { generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import {
  buildTlogEntry,
  dsseEntry,
  ed25519NoteSigner,
  ed25519PublicKeyBytes,
  hashLeaf,
  inclusionProof,
  keyHash,
  logOrigin,
  MemoryHashStore,
  SIG_TYPE_ED25519,
  signCheckpoint,
  transparencyLogInstance,
} from '@sigil/tlog';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSigner, generateKeyPair, signManifestStatement } from '../sign/index.js';
import { certSigner, codeOf, makeManifest, makePki, type Pki } from '../testkit.js';
import { certificateFingerprint, SignerPolicy, verifyManifestBundle } from './index.js';

/**
 * Real bundles (organisation CA certificate + RFC 3161 timestamp, or a pinned key) given a real
 * `dsse` 0.0.2 log entry with an Ed25519-signed checkpoint, verified by @sigil/signing/verify.
 */

const BASE_URL = 'https://registry.sigil.test';
const IDENTITY = 'mailto:release@acme.example';
const manifest = makeManifest();

type BundleJson = {
  dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string }[] };
  verificationMaterial: Record<string, unknown> & { certificate?: { rawBytes: string }; tlogEntries?: unknown[] };
};
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

interface Log {
  key: { publicKey: KeyObject; privateKey: KeyObject };
  store: MemoryHashStore;
  origin: string;
  logId: Uint8Array;
}

function newLog(baseUrl = BASE_URL): Log {
  const key = generateKeyPairSync('ed25519');
  const origin = logOrigin(baseUrl);
  const store = new MemoryHashStore();
  for (let i = 0; i < 9; i++) store.append(hashLeaf(Buffer.from(`earlier ${i}`)));
  return { key, store, origin, logId: keyHash(origin, SIG_TYPE_ED25519, ed25519PublicKeyBytes(key.publicKey)) };
}

function envelopeOf(bundle: BundleJson) {
  return {
    payloadType: bundle.dsseEnvelope.payloadType,
    payload: Buffer.from(bundle.dsseEnvelope.payload, 'base64'),
    signatures: bundle.dsseEnvelope.signatures.map((s) => ({ sig: Buffer.from(s.sig, 'base64') })),
  };
}

/** Appends the bundle's `dsse` entry to the log and returns the bundle carrying its tlogEntries item. */
function withEntry(bundle: BundleJson, log: Log, verifier: { certificate: Uint8Array } | { publicKey: Uint8Array }, options: { signWith?: Log } = {}): BundleJson {
  const body = dsseEntry({ envelope: envelopeOf(bundle), verifiers: [{ ...verifier, keyDetails: 'PKIX_ECDSA_P256_SHA_256' }] });
  const logIndex = log.store.append(body.leafHash);
  log.store.append(hashLeaf(Buffer.from(`later ${logIndex}`)));
  const checkpoint = { origin: log.origin, size: log.store.size, root: log.store.root(), extensions: [] };
  const signer = options.signWith ?? log;
  const envelope = signCheckpoint(checkpoint, ed25519NoteSigner(signer.origin, signer.key.privateKey));
  const item = buildTlogEntry({ body: body.bytes, logIndex, proof: inclusionProof(logIndex, log.store.size, log.store), checkpoint: { checkpoint, envelope }, logId: log.logId });
  const out = clone(bundle);
  out.verificationMaterial.tlogEntries = [item];
  return out;
}

let pki: Pki;
let log: Log;
let certBundle: BundleJson;
let certDer: Uint8Array;
let policyWithLog: SignerPolicy;
let policyWithoutLog: SignerPolicy;

beforeAll(async () => {
  pki = makePki();
  log = newLog();
  const { signer, certificate } = certSigner(pki, IDENTITY);
  certBundle = (await signManifestStatement(manifest, signer)) as unknown as BundleJson;
  certDer = new X509Certificate(certificate).raw;
  const identities = [{ identity: IDENTITY, ca: certificateFingerprint(pki.ca.certificatePem) }];
  const rootWithLog = { ...pki.trustedRoot, tlogs: [transparencyLogInstance({ baseUrl: BASE_URL, publicKey: log.key.publicKey, validFrom: new Date(Date.now() - 60_000) })] };
  policyWithLog = SignerPolicy.parse({ identities, trustedRoot: rootWithLog });
  policyWithoutLog = SignerPolicy.parse({ identities, trustedRoot: pki.trustedRoot });
});

describe('when a certificate bundle carries a log entry and the trusted root lists the log', () => {
  it('verifies, and reports where the entry sits in which checkpoint', () => {
    const bundle = withEntry(certBundle, log, { certificate: certDer });
    const verified = verifyManifestBundle(JSON.stringify(bundle), manifest, policyWithLog);
    expect(verified.signer.kind).toBe('certificate');
    expect(verified.log).toHaveLength(1);
    expect(verified.log![0]!.logIndex).toBe(log.store.size - 2);
    expect(verified.log![0]!.treeSize).toBe(log.store.size);
    expect(verified.log![0]!.checkpoint.startsWith(`${log.origin}\n${log.store.size}\n`)).toBe(true);
  });

  it('still verifies without any entry (the threshold is the host policy, not the bundle)', () => {
    expect(verifyManifestBundle(JSON.stringify(certBundle), manifest, policyWithLog).log).toBeUndefined();
  });

  it('refuses a checkpoint signed by another key', () => {
    const bundle = withEntry(certBundle, log, { certificate: certDer }, { signWith: newLog() });
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(bundle), manifest, policyWithLog))).toBe('LOG_ENTRY_INVALID');
  });

  it('refuses an entry from a log the root does not list', () => {
    const bundle = withEntry(certBundle, newLog(), { certificate: certDer });
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(bundle), manifest, policyWithLog))).toBe('LOG_ENTRY_INVALID');
  });

  it('refuses an inclusion proof for another leaf, a changed proof hash, and a forked root', () => {
    const good = withEntry(certBundle, log, { certificate: certDer });
    type Item = { logIndex: string; inclusionProof: { logIndex: string; hashes: string[] } };
    const otherLeaf = clone(good);
    const item = otherLeaf.verificationMaterial.tlogEntries![0] as Item;
    item.logIndex = item.inclusionProof.logIndex = String(Number(item.logIndex) + 1);
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(otherLeaf), manifest, policyWithLog))).toBe('LOG_ENTRY_INVALID');
    const flipped = clone(good);
    const hashes = (flipped.verificationMaterial.tlogEntries![0] as Item).inclusionProof.hashes;
    const h = Buffer.from(hashes[0]!, 'base64');
    h[0] = h[0]! ^ 1;
    hashes[0] = h.toString('base64');
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(flipped), manifest, policyWithLog))).toBe('LOG_ENTRY_INVALID');
  });

  it('refuses the entry of another signature attached to this bundle', async () => {
    const other = (await signManifestStatement(manifest, certSigner(pki, IDENTITY).signer)) as unknown as BundleJson;
    const otherWithEntry = withEntry(other, log, { certificate: certDer });
    const bundle = clone(certBundle);
    bundle.verificationMaterial.tlogEntries = otherWithEntry.verificationMaterial.tlogEntries!;
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(bundle), manifest, policyWithLog))).toBe('LOG_ENTRY_INVALID');
  });

  it('refuses more entries than the bound', () => {
    const bundle = withEntry(certBundle, log, { certificate: certDer });
    const item = bundle.verificationMaterial.tlogEntries![0];
    bundle.verificationMaterial.tlogEntries = [item, item, item, item, item];
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(bundle), manifest, policyWithLog))).toBe('LOG_ENTRY_INVALID');
  });
});

describe('when the trusted root lists no log (pinned before the registry had one)', () => {
  it('ignores the entries of a certificate bundle and verifies it as one without them', () => {
    const bundle = withEntry(certBundle, log, { certificate: certDer });
    const verified = verifyManifestBundle(JSON.stringify(bundle), manifest, policyWithoutLog);
    expect(verified.signer.kind).toBe('certificate');
    expect(verified.log).toBeUndefined();
  });

  it('still needs the RFC 3161 timestamp: entries never stand in for it', () => {
    const bundle = withEntry(certBundle, log, { certificate: certDer });
    delete bundle.verificationMaterial.timestampVerificationData;
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(bundle), manifest, policyWithoutLog))).toBe('TIMESTAMP_INVALID');
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(bundle), manifest, policyWithLog))).toBe('TIMESTAMP_INVALID');
  });

  it('ignores the entries of a key-signed bundle under a key-only policy (no trusted root)', async () => {
    const keys = generateKeyPair();
    const bundle = (await signManifestStatement(manifest, createSigner({ privateKey: keys.privateKeyPem }))) as unknown as BundleJson;
    const spki = Buffer.from(keys.publicKeyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, ''), 'base64');
    const logged = withEntry(bundle, log, { publicKey: spki });
    const verified = verifyManifestBundle(JSON.stringify(logged), manifest, SignerPolicy.parse({ publicKeys: [keys.publicKeyPem] }));
    expect(verified.signer.kind).toBe('key');
    expect(verified.log).toBeUndefined();
  });
});

describe('when a key-signed bundle carries a log entry', () => {
  it('verifies against a root listing the log, and is refused with a bad checkpoint', async () => {
    const keys = generateKeyPair();
    const bundle = (await signManifestStatement(manifest, createSigner({ privateKey: keys.privateKeyPem }))) as unknown as BundleJson;
    const spki = Buffer.from(keys.publicKeyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, ''), 'base64');
    const root = { ...pki.trustedRoot, tlogs: [transparencyLogInstance({ baseUrl: BASE_URL, publicKey: log.key.publicKey, validFrom: new Date(Date.now() - 60_000) })] };
    const policy = SignerPolicy.parse({ publicKeys: [keys.publicKeyPem], trustedRoot: root });
    const good = withEntry(bundle, log, { publicKey: spki });
    expect(verifyManifestBundle(JSON.stringify(good), manifest, policy).log).toHaveLength(1);
    const forged = withEntry(bundle, log, { publicKey: spki }, { signWith: newLog() });
    expect(codeOf(() => verifyManifestBundle(JSON.stringify(forged), manifest, policy))).toBe('LOG_ENTRY_INVALID');
  });
});
