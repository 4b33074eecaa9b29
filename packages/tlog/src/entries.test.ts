import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { codeOf } from './code-of.test-helper.js';
import { checkEntryForEnvelope, dsseEntry, type EntryVerifier, hashedRekordEntry, hashedRekordEntryForDigest, parseEntryBody, preAuthEncoding } from './entries.js';
import { hashLeaf } from './hash.js';


const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const key: EntryVerifier = { publicKey: Buffer.from('spki-der'), keyDetails: 'PKIX_ECDSA_P256_SHA_256' };
const cert: EntryVerifier = { certificate: Buffer.from('cert-der'), keyDetails: 'PKIX_ECDSA_P256_SHA_256' };
const envelope = { payloadType: 'application/vnd.in-toto+json', payload: Buffer.from('{"a":1}'), signatures: [{ sig: Buffer.from('sig-one') }] };

describe('when encoding DSSE for the log', () => {
  it('writes the DSSE v1 pre-authentication encoding of the DSSE spec example', () => {
    // secure-systems-lab/dsse protocol.md: PAE("http://example.com/HelloWorld", "hello world").
    expect(text(preAuthEncoding('http://example.com/HelloWorld', Buffer.from('hello world')))).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
    expect(text(preAuthEncoding('t', Buffer.from('é')))).toBe('DSSEv1 1 t 2 é');
  });
});

describe('when writing Rekor v2 entry bodies', () => {
  it('writes hashedrekord 0.0.2 over the PAE as canonical protobuf JSON, the leaf its RFC 6962 hash', () => {
    const body = hashedRekordEntry({ envelope, verifier: key });
    const pae = preAuthEncoding(envelope.payloadType, envelope.payload);
    const digest = sha256b64(pae);
    expect(text(body.bytes)).toBe(
      `{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":{"algorithm":"SHA2_256","digest":"${digest}"},"signature":{"content":"${b64('sig-one')}","verifier":{"keyDetails":"PKIX_ECDSA_P256_SHA_256","publicKey":{"rawBytes":"${b64('spki-der')}"}}}}}}`,
    );
    expect(Buffer.from(body.leafHash).equals(Buffer.from(hashLeaf(body.bytes)))).toBe(true);
    const withCert = hashedRekordEntry({ envelope, verifier: cert });
    expect(text(withCert.bytes)).toContain(`"verifier":{"keyDetails":"PKIX_ECDSA_P256_SHA_256","x509Certificate":{"rawBytes":"${b64('cert-der')}"}}`);
  });

  it('writes dsse 0.0.2 with the payload hash and the signatures sorted by their bytes', () => {
    const two = { ...envelope, signatures: [{ sig: Buffer.from('zz') }, { sig: Buffer.from('aa') }] };
    const body = dsseEntry({ envelope: two, verifiers: [key, cert] });
    expect(text(body.bytes)).toBe(
      `{"apiVersion":"0.0.2","kind":"dsse","spec":{"dsseV002":{"payloadHash":{"algorithm":"SHA2_256","digest":"${sha256b64(envelope.payload)}"},"signatures":[` +
        `{"content":"${b64('aa')}","verifier":{"keyDetails":"PKIX_ECDSA_P256_SHA_256","x509Certificate":{"rawBytes":"${b64('cert-der')}"}}},` +
        `{"content":"${b64('zz')}","verifier":{"keyDetails":"PKIX_ECDSA_P256_SHA_256","publicKey":{"rawBytes":"${b64('spki-der')}"}}}]}}}`,
    );
    // Order of the envelope's signatures does not change the leaf.
    const swapped = dsseEntry({ envelope: { ...envelope, signatures: [{ sig: Buffer.from('aa') }, { sig: Buffer.from('zz') }] }, verifiers: [cert, key] });
    expect(Buffer.from(swapped.bytes).equals(Buffer.from(body.bytes))).toBe(true);
  });

  it('reads back exactly what it writes', () => {
    for (const body of [hashedRekordEntry({ envelope, verifier: cert }), dsseEntry({ envelope, verifiers: [key] })]) {
      const parsed = parseEntryBody(body.bytes);
      expect(parsed.kind).toBe(body.kind);
      expect(Buffer.from(parsed.digest).equals(Buffer.from(body.digest))).toBe(true);
      expect(parsed.signatures.map((s) => Buffer.from(s.content).toString())).toEqual(body.signatures.map((s) => Buffer.from(s.content).toString()));
      expect(parsed.signatures[0]!.verifier).toEqual(body.signatures[0]!.verifier);
      checkEntryForEnvelope(parsed, envelope);
    }
  });

  it('refuses inputs it cannot log faithfully', () => {
    expect(codeOf(() => hashedRekordEntry({ envelope: { ...envelope, signatures: [] }, verifier: key }))).toBe('ENTRY_INVALID');
    expect(codeOf(() => hashedRekordEntry({ envelope: { ...envelope, signatures: [{ sig: Buffer.from('a') }, { sig: Buffer.from('b') }] }, verifier: key }))).toBe('ENTRY_INVALID');
    expect(codeOf(() => hashedRekordEntry({ envelope, verifier: { ...key, keyDetails: 'PKIX_ECDSA_P384_SHA_384' } }))).toBe('ENTRY_INVALID');
    expect(codeOf(() => hashedRekordEntry({ envelope: { ...envelope, signatures: [{ sig: new Uint8Array(0) }] }, verifier: key }))).toBe('ENTRY_INVALID');
    expect(codeOf(() => hashedRekordEntry({ envelope: { ...envelope, payloadType: '' }, verifier: key }))).toBe('ENTRY_INVALID');
    expect(codeOf(() => dsseEntry({ envelope, verifiers: [] }))).toBe('ENTRY_INVALID');
    expect(codeOf(() => dsseEntry({ envelope, verifiers: [{ ...key, keyDetails: 'RSA' as never }] }))).toBe('ENTRY_INVALID');
    expect(codeOf(() => dsseEntry({ envelope: { ...envelope, signatures: [{ sig: Buffer.from('a') }, { sig: Buffer.from('a') }] }, verifiers: [key, key] }))).toBe('ENTRY_INVALID');
    expect(codeOf(() => dsseEntry({ envelope: { ...envelope, signatures: Array.from({ length: 11 }, (_, i) => ({ sig: Buffer.from([i + 1]) })) }, verifiers: Array(11).fill(key) }))).toBe('ENTRY_INVALID');
    expect(codeOf(() => hashedRekordEntry({ envelope, verifier: { certificate: new Uint8Array(60_000), keyDetails: 'PKIX_ECDSA_P256_SHA_256' } }))).toBe('ENTRY_INVALID');
    expect(codeOf(() => hashedRekordEntryForDigest({ digest: new Uint8Array(31), signature: Buffer.from('s'), verifier: key }))).toBe('ENTRY_INVALID');
    expect(codeOf(() => hashedRekordEntryForDigest({ digest: new Uint8Array(32), signature: new Uint8Array(0), verifier: key }))).toBe('ENTRY_INVALID');
  });

  it('refuses bodies that are not exactly one of the two canonical forms', () => {
    const good = text(hashedRekordEntry({ envelope, verifier: key }).bytes);
    const cases: Record<string, string> = {
      'not JSON': good.slice(1),
      'not canonical (space)': good.replace(':', ': '),
      'not canonical (key order)': good.replace('{"apiVersion":"0.0.2","kind":"hashedrekord",', '{"kind":"hashedrekord","apiVersion":"0.0.2",'),
      'unknown kind': good.replace('"hashedrekord"', '"intoto"'),
      'other version': good.replace('"0.0.2"', '"0.0.1"'),
      'extra field': good.replace('{"apiVersion"', '{"aaa":1,"apiVersion"'),
      'other algorithm': good.replace('SHA2_256', 'SHA2_384'),
      'unknown key type': good.replaceAll('PKIX_ECDSA_P256_SHA_256', 'PKIX_RSA_PKCS1V5'),
      'url-safe base64': good.replace(/"content":"[^"]*"/, '"content":"_-_-"'),
      'both key and certificate': good.replace('"publicKey":', `"x509Certificate":{"rawBytes":"${b64('c')}"},"publicKey":`),
      'short digest': good.replace(/"digest":"[^"]*"/, `"digest":"${b64('short')}"`),
      'an array': '[]',
    };
    for (const [what, body] of Object.entries(cases)) {
      expect(codeOf(() => parseEntryBody(Buffer.from(body))), what).toBe('ENTRY_INVALID');
    }
    expect(codeOf(() => parseEntryBody(Uint8Array.of(0xff)))).toBe('ENTRY_INVALID');
    expect(codeOf(() => parseEntryBody(Buffer.from('{"apiVersion":1e400}')))).toBe('ENTRY_INVALID');
    expect(codeOf(() => parseEntryBody(new Uint8Array(70_000)))).toBe('ENTRY_INVALID');
  });

  it('tells an entry for another signature or payload from the right one', () => {
    const body = parseEntryBody(dsseEntry({ envelope, verifiers: [key] }).bytes);
    expect(codeOf(() => checkEntryForEnvelope(body, { ...envelope, signatures: [{ sig: Buffer.from('sig-two') }] }))).toBe('ENTRY_MISMATCH');
    expect(codeOf(() => checkEntryForEnvelope(body, { ...envelope, payload: Buffer.from('{"a":2}') }))).toBe('ENTRY_MISMATCH');
    expect(codeOf(() => checkEntryForEnvelope(body, { ...envelope, signatures: [] }))).toBe('ENTRY_MISMATCH');
    const hashed = parseEntryBody(hashedRekordEntry({ envelope, verifier: key }).bytes);
    expect(codeOf(() => checkEntryForEnvelope(hashed, { ...envelope, payloadType: 'text/plain' }))).toBe('ENTRY_MISMATCH');
  });
});

function sha256b64(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('base64');
}
