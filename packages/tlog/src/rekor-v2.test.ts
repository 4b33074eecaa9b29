import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { codeOf } from './code-of.test-helper.js';
import { logOrigin, type TlogEntryJson, verifyTlogEntry } from './bundle-entry.js';
import { checkEntryForEnvelope, dsseEntry, hashedRekordEntryForDigest, parseEntryBody } from './entries.js';
import { ed25519NoteVerifier, keyHash, SIG_TYPE_ED25519 } from './note.js';

/**
 * Known answers from the production Rekor v2 log (log2025-1.rekor.sigstore.dev), as
 * sigstore-js keeps them in its test fixtures: our reader accepts its real entries and
 * checkpoints, our key hash is its log ID, and our writer produces its entry bytes exactly.
 */
interface RekorVectors {
  log: { baseUrl: string; publicKey: string; logId: string };
  dsse: { tlogEntry: TlogEntryJson; dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string }[] } };
  hashedrekord: { tlogEntry: TlogEntryJson; messageSignature: { messageDigest: { digest: string }; signature: string } };
}
const vectors = JSON.parse(readFileSync(new URL('../test-vectors/rekor-v2.json', import.meta.url), 'utf8')) as RekorVectors;
const rawKey = Buffer.from(vectors.log.publicKey, 'base64').subarray(-32); // SPKI DER of Ed25519: the key is the last 32 bytes
const origin = logOrigin(vectors.log.baseUrl);
const logId = Buffer.from(vectors.log.logId, 'base64');
const logVerifier = ed25519NoteVerifier(origin, rawKey);


describe('when reading entries of the production Rekor v2 log', () => {
  it('computes its log ID as SHA-256(origin || 0x0A || 0x01 || key), with origin the base URL host', () => {
    expect(origin).toBe('log2025-1.rekor.sigstore.dev');
    expect(Buffer.from(keyHash(origin, SIG_TYPE_ED25519, rawKey)).equals(logId)).toBe(true);
  });

  it('verifies a real dsse 0.0.2 entry: checkpoint signature, inclusion proof, body, envelope', () => {
    const verified = verifyTlogEntry(vectors.dsse.tlogEntry, { logVerifier, logId });
    expect(verified.logIndex).toBe(544346);
    expect(verified.checkpoint.checkpoint.size).toBe(544347);
    const env = vectors.dsse.dsseEnvelope;
    const envelope = { payloadType: env.payloadType, payload: Buffer.from(env.payload, 'base64'), signatures: env.signatures.map((s) => ({ sig: Buffer.from(s.sig, 'base64') })) };
    checkEntryForEnvelope(verified.entry, envelope);
    // Our writer gives the same bytes Rekor wrote, from the envelope and the certificate alone.
    const verifier = verified.entry.signatures[0]!.verifier;
    const rebuilt = dsseEntry({ envelope, verifiers: [verifier] });
    expect(Buffer.from(rebuilt.bytes).toString()).toBe(Buffer.from(vectors.dsse.tlogEntry.canonicalizedBody, 'base64').toString());
  });

  it('verifies a real hashedrekord 0.0.2 entry, and rebuilds its body byte for byte', () => {
    const verified = verifyTlogEntry(vectors.hashedrekord.tlogEntry, { logVerifier, logId });
    expect(verified.entry.kind).toBe('hashedrekord');
    expect(verified.entry.signatures[0]!.verifier.keyDetails).toBe('PKIX_ECDSA_P256_SHA_256');
    expect(Buffer.from(parseEntryBody(Buffer.from(vectors.hashedrekord.tlogEntry.canonicalizedBody, 'base64')).leafHash).equals(Buffer.from(verified.entry.leafHash))).toBe(true);
    // Rebuilt from the bundle's message signature and the entry's key: the same bytes.
    const sig = vectors.hashedrekord.messageSignature;
    const rebuilt = hashedRekordEntryForDigest({ digest: Buffer.from(sig.messageDigest.digest, 'base64'), signature: Buffer.from(sig.signature, 'base64'), verifier: verified.entry.signatures[0]!.verifier });
    expect(Buffer.from(rebuilt.bytes).toString()).toBe(Buffer.from(vectors.hashedrekord.tlogEntry.canonicalizedBody, 'base64').toString());
  });

  it('refuses the real entry under another key or another log id, and with a proof hash changed', () => {
    const other = ed25519NoteVerifier(origin, Buffer.alloc(32, 7));
    expect(codeOf(() => verifyTlogEntry(vectors.dsse.tlogEntry, { logVerifier: other, logId }))).toBe('NOTE_UNVERIFIED');
    expect(codeOf(() => verifyTlogEntry(vectors.dsse.tlogEntry, { logVerifier, logId: Buffer.alloc(32) }))).toBe('ENTRY_INVALID');
    const proof = vectors.dsse.tlogEntry.inclusionProof;
    const hashes = [...proof.hashes];
    hashes[4] = hashes[3]!;
    expect(codeOf(() => verifyTlogEntry({ ...vectors.dsse.tlogEntry, inclusionProof: { ...proof, hashes } }, { logVerifier, logId }))).toBe('INCLUSION_PROOF_INVALID');
  });
});
