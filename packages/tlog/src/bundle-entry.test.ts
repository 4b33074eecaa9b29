import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { codeOf } from './code-of.test-helper.js';
import { buildTlogEntry, logOrigin, type TlogEntryJson, transparencyLogInstance, verifyTlogEntry } from './bundle-entry.js';
import { signCheckpoint } from './checkpoint.js';
import { dsseEntry, hashedRekordEntry } from './entries.js';
import { type TlogErrorCode } from './errors.js';
import { hashLeaf } from './hash.js';
import { ed25519NoteSigner, ed25519NoteVerifier, ed25519PublicKeyBytes, keyHash, SIG_TYPE_ED25519 } from './note.js';
import { inclusionProof, MemoryHashStore } from './tree.js';


const ORIGIN = 'registry.sigil.test';
const verifier = { publicKey: Buffer.from('spki'), keyDetails: 'PKIX_ECDSA_P256_SHA_256' as const };
const envelope = (n: number) => ({ payloadType: 'application/vnd.in-toto+json', payload: Buffer.from(`{"n":${n}}`), signatures: [{ sig: Buffer.from(`sig ${n}`) }] });

function fixture() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const store = new MemoryHashStore();
  const bodies = Array.from({ length: 9 }, (_, n) => (n % 2 ? hashedRekordEntry({ envelope: envelope(n), verifier }) : dsseEntry({ envelope: envelope(n), verifiers: [verifier] })));
  for (const b of bodies) store.append(b.leafHash);
  const checkpoint = { origin: ORIGIN, size: store.size, root: store.root(), extensions: [] };
  const envelopeText = signCheckpoint(checkpoint, ed25519NoteSigner(ORIGIN, privateKey));
  const logId = keyHash(ORIGIN, SIG_TYPE_ED25519, ed25519PublicKeyBytes(publicKey));
  const item = (i: number): TlogEntryJson => buildTlogEntry({ body: bodies[i]!.bytes, logIndex: i, proof: inclusionProof(i, store.size, store), checkpoint: { checkpoint, envelope: envelopeText }, logId });
  return { privateKey, publicKey, store, bodies, checkpoint, envelopeText, logId, item, logVerifier: ed25519NoteVerifier(ORIGIN, publicKey) };
}

describe('when building and checking bundle tlogEntries items', () => {
  it('writes the protobuf JSON shape of a Rekor v2 entry, and verifies it back', () => {
    const f = fixture();
    const item = f.item(3);
    expect(Object.keys(item).sort()).toEqual(['canonicalizedBody', 'inclusionProof', 'kindVersion', 'logId', 'logIndex']);
    expect(item.kindVersion).toEqual({ kind: 'hashedrekord', version: '0.0.2' });
    expect(item.inclusionProof.treeSize).toBe('9');
    expect(item.inclusionProof.logIndex).toBe('3');
    expect(item.logId.keyId).toBe(Buffer.from(f.logId).toString('base64'));
    const ok = verifyTlogEntry(JSON.parse(JSON.stringify(item)), { logVerifier: f.logVerifier, logId: f.logId });
    expect(ok.entry.kind).toBe('hashedrekord');
    expect(ok.checkpoint.checkpoint.size).toBe(9);
    expect(verifyTlogEntry(f.item(8), { logVerifier: f.logVerifier, logId: f.logId }).logIndex).toBe(8);
  });

  it('never builds an item whose proof does not verify', () => {
    const f = fixture();
    const cp = { checkpoint: f.checkpoint, envelope: f.envelopeText };
    expect(codeOf(() => buildTlogEntry({ body: f.bodies[2]!.bytes, logIndex: 3, proof: inclusionProof(3, f.store.size, f.store), checkpoint: cp, logId: f.logId }))).toBe('INCLUSION_PROOF_INVALID');
    expect(codeOf(() => buildTlogEntry({ body: Buffer.from('{}'), logIndex: 3, proof: [], checkpoint: cp, logId: f.logId }))).toBe('ENTRY_INVALID');
    expect(codeOf(() => buildTlogEntry({ body: f.bodies[3]!.bytes, logIndex: 3, proof: inclusionProof(3, f.store.size, f.store), checkpoint: cp, logId: f.logId.subarray(4) }))).toBe('ENTRY_INVALID');
  });

  it('refuses each tampered field with its code', () => {
    const f = fixture();
    const item = f.item(4);
    const log = { logVerifier: f.logVerifier, logId: f.logId };
    const other = generateKeyPairSync('ed25519');
    const cases: [string, unknown, TlogErrorCode][] = [
      ['another log id', { ...item, logId: { keyId: Buffer.alloc(32).toString('base64') } }, 'ENTRY_INVALID'],
      ['checkpoint by another key', { ...item, inclusionProof: { ...item.inclusionProof, checkpoint: { envelope: signCheckpoint(f.checkpoint, ed25519NoteSigner(ORIGIN, other.privateKey)) } } }, 'NOTE_UNVERIFIED'],
      ['shrunk checkpoint', { ...item, inclusionProof: { ...item.inclusionProof, checkpoint: { envelope: signCheckpoint({ ...f.checkpoint, size: 5, root: f.store.root(5) }, ed25519NoteSigner(ORIGIN, f.privateKey)) } } }, 'INCLUSION_PROOF_INVALID'],
      ['tree size not the checkpoint', { ...item, inclusionProof: { ...item.inclusionProof, treeSize: '10' } }, 'INCLUSION_PROOF_INVALID'],
      ['root not the checkpoint', { ...item, inclusionProof: { ...item.inclusionProof, rootHash: Buffer.from(hashLeaf(Buffer.from('x'))).toString('base64') } }, 'INCLUSION_PROOF_INVALID'],
      ['index moved', { ...item, logIndex: '5', inclusionProof: { ...item.inclusionProof, logIndex: '5' } }, 'INCLUSION_PROOF_INVALID'],
      ['index disagrees', { ...item, logIndex: '5' }, 'ENTRY_INVALID'],
      ['index with leading zero', { ...item, logIndex: '04', inclusionProof: { ...item.inclusionProof, logIndex: '04' } }, 'ENTRY_INVALID'],
      ['body of another entry', { ...item, canonicalizedBody: Buffer.from(f.bodies[6]!.bytes).toString('base64') }, 'INCLUSION_PROOF_INVALID'],
      ['kind mislabelled', { ...item, kindVersion: { kind: 'hashedrekord', version: '0.0.2' } }, 'ENTRY_INVALID'],
      ['hash dropped', { ...item, inclusionProof: { ...item.inclusionProof, hashes: item.inclusionProof.hashes.slice(1) } }, 'INCLUSION_PROOF_INVALID'],
      ['hash not base64', { ...item, inclusionProof: { ...item.inclusionProof, hashes: ['@@@@'] } }, 'ENTRY_INVALID'],
      ['no proof', { ...item, inclusionProof: undefined }, 'ENTRY_INVALID'],
      ['not an object', 'entry', 'ENTRY_INVALID'],
    ];
    for (const [what, tampered, code] of cases) expect(codeOf(() => verifyTlogEntry(tampered, log)), what).toBe(code);
    expect(codeOf(() => verifyTlogEntry(item, { ...log, origin: 'other.test' }))).toBe('CHECKPOINT_ORIGIN_MISMATCH');
  });

  it('names the log after the hostname of its base URL, in the trusted root too', () => {
    expect(logOrigin('https://registry.sigil.test/api/v1/log')).toBe('registry.sigil.test');
    expect(codeOf(() => logOrigin('not a url'))).toBe('KEY_INVALID');
    expect(codeOf(() => logOrigin('file:///tmp/log'))).toBe('KEY_INVALID');
    const { publicKey } = generateKeyPairSync('ed25519');
    const instance = transparencyLogInstance({ baseUrl: 'https://registry.sigil.test', publicKey, validFrom: new Date('2026-01-01T00:00:00Z'), operator: 'sigil.test' });
    const hash = keyHash('registry.sigil.test', SIG_TYPE_ED25519, ed25519PublicKeyBytes(publicKey));
    expect(instance.logId.keyId).toBe(Buffer.from(hash).toString('base64'));
    expect(instance.checkpointKeyId.keyId).toBe(instance.logId.keyId);
    expect(instance.publicKey.keyDetails).toBe('PKIX_ED25519');
    expect(instance.operator).toBe('sigil.test');
    expect(Buffer.from(instance.publicKey.rawBytes, 'base64').equals(publicKey.export({ format: 'der', type: 'spki' }))).toBe(true);
  });
});
