import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { PublicKeyDetails, TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, VerificationError, Verifier } from '@sigstore/verify';
import { describe, expect, it } from 'vitest';
import { codeOf } from './code-of.test-helper.js';
import { buildTlogEntry, transparencyLogInstance, verifyTlogEntry, type TlogEntryJson } from './bundle-entry.js';
import { signCheckpoint } from './checkpoint.js';
import { checkEntryForEnvelope, dsseEntry, type EntryBody, hashedRekordEntry, preAuthEncoding } from './entries.js';
import { hashLeaf } from './hash.js';
import { ed25519NoteSigner, ed25519NoteVerifier, keyHash, SIG_TYPE_ED25519, ed25519PublicKeyBytes } from './note.js';
import { inclusionProof, MemoryHashStore } from './tree.js';

/**
 * The bundle a Sigil registry would return, checked by the stock @sigstore/verify Verifier
 * installed here (3.1.x, the Node 20 line), not by any Sigil wrapper: a real ECDSA P-256 DSSE
 * signature, a real Ed25519-signed checkpoint, and a trusted root that lists the log.
 */

const BASE_URL = 'https://log.sigil.test';
const ORIGIN = 'log.sigil.test';
const HINT = 'sigil-test-publisher';
const PAYLOAD_TYPE = 'application/vnd.in-toto+json';

interface World {
  logKey: { privateKey: KeyObject; publicKey: KeyObject };
  signerKey: { privateKey: KeyObject; publicKey: KeyObject };
  spki: Uint8Array;
  payload: Uint8Array;
  sig: Uint8Array;
}

function world(): World {
  const logKey = generateKeyPairSync('ed25519');
  const signerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const statement = { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'io.github.acme/weather', digest: { sha256: 'ab'.repeat(32) } }], predicateType: 'https://sigil.dev/publish/v1', predicate: {} };
  const payload = Buffer.from(JSON.stringify(statement));
  const sig = sign('sha256', preAuthEncoding(PAYLOAD_TYPE, payload), signerKey.privateKey);
  const spki = signerKey.publicKey.export({ format: 'der', type: 'spki' });
  return { logKey, signerKey, spki, payload, sig };
}

/** A log of `before` other entries, then ours, then `after` more; the checkpoint over all of it. */
function logWith(w: World, body: EntryBody, before = 5, after = 3) {
  const store = new MemoryHashStore();
  for (let i = 0; i < before; i++) store.append(hashLeaf(Buffer.from(`other entry ${i}`)));
  const logIndex = store.append(body.leafHash);
  for (let i = 0; i < after; i++) store.append(hashLeaf(Buffer.from(`later entry ${i}`)));
  const checkpoint = { origin: ORIGIN, size: store.size, root: store.root(), extensions: [] };
  const envelope = signCheckpoint(checkpoint, ed25519NoteSigner(ORIGIN, w.logKey.privateKey));
  const logId = keyHash(ORIGIN, SIG_TYPE_ED25519, ed25519PublicKeyBytes(w.logKey.publicKey));
  return { store, logIndex, checkpoint, envelope, logId };
}

function bundleJson(w: World, entry: TlogEntryJson) {
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: { hint: HINT }, tlogEntries: [entry], timestampVerificationData: { rfc3161Timestamps: [] } },
    dsseEnvelope: { payload: Buffer.from(w.payload).toString('base64'), payloadType: PAYLOAD_TYPE, signatures: [{ sig: Buffer.from(w.sig).toString('base64'), keyid: '' }] },
  };
}

function trustedRoot(logPublicKey: KeyObject, baseUrl = BASE_URL) {
  return TrustedRoot.fromJSON({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [transparencyLogInstance({ baseUrl, publicKey: logPublicKey, validFrom: new Date('2026-01-01T00:00:00Z') })],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  });
}

/** The stock verifier: given the trusted root and a transparency-log threshold of 1. */
function stockVerify(w: World, bundle: unknown, root = trustedRoot(w.logKey.publicKey)): void {
  const trust = toTrustMaterial(root, { [HINT]: { rawBytes: Buffer.from(w.spki), keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256, validFor: undefined } });
  // No timestamp: a public-key signer needs none, and a v2 entry gives none (no SET).
  const verifier = new Verifier(trust, { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 0 });
  verifier.verify(toSignedEntity(bundleFromJSON(bundle)));
}

function stockCode(fn: () => void): string {
  try {
    fn();
    return 'verified';
  } catch (e) {
    if (e instanceof VerificationError) return e.code;
    throw e;
  }
}


const verifierOf = (w: World) => ({ publicKey: w.spki, keyDetails: 'PKIX_ECDSA_P256_SHA_256' as const });

describe('when the stock @sigstore/verify 3.1.x checks a bundle with a Sigil log entry', () => {
  it('verifies a dsse 0.0.2 entry with its inclusion proof and checkpoint', () => {
    const w = world();
    const body = dsseEntry({ envelope: { payloadType: PAYLOAD_TYPE, payload: w.payload, signatures: [{ sig: w.sig }] }, verifiers: [verifierOf(w)] });
    const log = logWith(w, body);
    const entry = buildTlogEntry({ body: body.bytes, logIndex: log.logIndex, proof: inclusionProof(log.logIndex, log.store.size, log.store), checkpoint: log, logId: log.logId });
    expect(stockCode(() => stockVerify(w, bundleJson(w, entry)))).toBe('verified');
    // And Sigil's own check of the same item agrees.
    const ours = verifyTlogEntry(entry, { logVerifier: ed25519NoteVerifier(ORIGIN, w.logKey.publicKey), logId: log.logId });
    expect(ours.logIndex).toBe(log.logIndex);
    checkEntryForEnvelope(ours.entry, { payloadType: PAYLOAD_TYPE, payload: w.payload, signatures: [{ sig: w.sig }] });
  });

  it('verifies the entry first and last in the log, and alone in it', () => {
    for (const [before, after] of [[0, 0], [0, 6], [6, 0], [255, 1]] as const) {
      const w = world();
      const body = dsseEntry({ envelope: { payloadType: PAYLOAD_TYPE, payload: w.payload, signatures: [{ sig: w.sig }] }, verifiers: [verifierOf(w)] });
      const log = logWith(w, body, before, after);
      const entry = buildTlogEntry({ body: body.bytes, logIndex: log.logIndex, proof: inclusionProof(log.logIndex, log.store.size, log.store), checkpoint: log, logId: log.logId });
      expect(stockCode(() => stockVerify(w, bundleJson(w, entry))), `${before}/${after}`).toBe('verified');
    }
  });

  it('refuses the bundle when the trusted root lists another log key, or the log under another host', () => {
    const w = world();
    const body = dsseEntry({ envelope: { payloadType: PAYLOAD_TYPE, payload: w.payload, signatures: [{ sig: w.sig }] }, verifiers: [verifierOf(w)] });
    const log = logWith(w, body);
    const entry = buildTlogEntry({ body: body.bytes, logIndex: log.logIndex, proof: inclusionProof(log.logIndex, log.store.size, log.store), checkpoint: log, logId: log.logId });
    expect(stockCode(() => stockVerify(w, bundleJson(w, entry), trustedRoot(generateKeyPairSync('ed25519').publicKey)))).toBe('TLOG_INCLUSION_PROOF_ERROR');
    expect(stockCode(() => stockVerify(w, bundleJson(w, entry), trustedRoot(w.logKey.publicKey, 'https://elsewhere.test')))).toBe('TLOG_INCLUSION_PROOF_ERROR');
  });

  it('refuses a forked checkpoint, a proof for another leaf, and an entry for another signature', () => {
    const w = world();
    const envelope = { payloadType: PAYLOAD_TYPE, payload: w.payload, signatures: [{ sig: w.sig }] };
    const body = dsseEntry({ envelope, verifiers: [verifierOf(w)] });
    const log = logWith(w, body);
    const good = buildTlogEntry({ body: body.bytes, logIndex: log.logIndex, proof: inclusionProof(log.logIndex, log.store.size, log.store), checkpoint: log, logId: log.logId });
    // Same size, other root, signed by the log key: the proof cannot lead there.
    const forkRoot = hashLeaf(Buffer.from('fork'));
    const forkEnvelope = signCheckpoint({ ...log.checkpoint, root: forkRoot }, ed25519NoteSigner(ORIGIN, w.logKey.privateKey));
    const forked = { ...good, inclusionProof: { ...good.inclusionProof, rootHash: Buffer.from(forkRoot).toString('base64'), checkpoint: { envelope: forkEnvelope } } };
    expect(stockCode(() => stockVerify(w, bundleJson(w, forked)))).toBe('TLOG_INCLUSION_PROOF_ERROR');
    // The proof of the neighbouring leaf.
    const otherProof = inclusionProof(log.logIndex - 1, log.store.size, log.store).map((h) => Buffer.from(h).toString('base64'));
    const wrongLeaf = { ...good, inclusionProof: { ...good.inclusionProof, hashes: otherProof } };
    expect(stockCode(() => stockVerify(w, bundleJson(w, wrongLeaf)))).toBe('TLOG_INCLUSION_PROOF_ERROR');
    // A real, included entry, but for another signature of the same payload.
    const otherSig = sign('sha256', preAuthEncoding(PAYLOAD_TYPE, w.payload), w.signerKey.privateKey);
    const otherBody = dsseEntry({ envelope: { ...envelope, signatures: [{ sig: otherSig }] }, verifiers: [verifierOf(w)] });
    const otherLog = logWith(w, otherBody);
    const otherEntry = buildTlogEntry({ body: otherBody.bytes, logIndex: otherLog.logIndex, proof: inclusionProof(otherLog.logIndex, otherLog.store.size, otherLog.store), checkpoint: otherLog, logId: otherLog.logId });
    expect(stockCode(() => stockVerify(w, bundleJson(w, otherEntry)))).toBe('TLOG_BODY_ERROR');
    // Sigil's own checks refuse the same three, each with its code.
    const logVerifier = ed25519NoteVerifier(ORIGIN, w.logKey.publicKey);
    expect(codeOf(() => verifyTlogEntry(forked, { logVerifier, logId: log.logId }))).toBe('INCLUSION_PROOF_INVALID');
    expect(codeOf(() => verifyTlogEntry(wrongLeaf, { logVerifier, logId: log.logId }))).toBe('INCLUSION_PROOF_INVALID');
    const included = verifyTlogEntry(otherEntry, { logVerifier, logId: otherLog.logId });
    expect(codeOf(() => checkEntryForEnvelope(included.entry, envelope))).toBe('ENTRY_MISMATCH');
  });

  it('refuses the hashedrekord-over-PAE form, which only @sigstore/verify 4.1+ reads (so Sigil logs dsse 0.0.2 for the 3.1.x line)', () => {
    const w = world();
    const envelope = { payloadType: PAYLOAD_TYPE, payload: w.payload, signatures: [{ sig: w.sig }] };
    const body = hashedRekordEntry({ envelope, verifier: verifierOf(w) });
    const log = logWith(w, body);
    const entry = buildTlogEntry({ body: body.bytes, logIndex: log.logIndex, proof: inclusionProof(log.logIndex, log.store.size, log.store), checkpoint: log, logId: log.logId });
    // 3.1.x compares the entry digest with SHA-256 of the payload; the entry holds SHA-256 of the PAE.
    expect(stockCode(() => stockVerify(w, bundleJson(w, entry)))).toBe('TLOG_BODY_ERROR');
    // The inclusion part is sound, and Sigil's own checks accept the entry for this envelope.
    const ours = verifyTlogEntry(entry, { logVerifier: ed25519NoteVerifier(ORIGIN, w.logKey.publicKey), logId: log.logId });
    checkEntryForEnvelope(ours.entry, envelope);
  });
});
