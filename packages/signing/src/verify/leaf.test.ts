import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { algorithm, bitString, bool, ecdsaSign, explicit, fromDer, implicitPrimitive, integer, octets, OID, oid, randomSerial, seq, time, toDer, type Asn1 } from '../sign/der.js';
import { createSigner, generateKeyPair, signManifestStatement } from '../sign/index.js';
import { makeManifest, makePki } from '../testkit.js';
import { certificateFingerprint, SignerPolicy, SigningError, VerificationCache, verifyManifestBundle } from './index.js';

// The signing certificate's own rules (bundle.ts checkLeafIdentity), read from the tree
// @sigstore/core parsed: no CA, codeSigning in the extended key usage, each extension once. Each
// leaf here is made by hand, so each rule is met or broken alone; the first case, all rules met,
// shows the hand-made leaf verifies at all.
const IDENTITY = 'mailto:release@acme.example';
const manifest = makeManifest();
const pki = makePki();
const policy = SignerPolicy.parse({ identities: [{ identity: IDENTITY, ca: certificateFingerprint(pki.ca.certificatePem) }], trustedRoot: pki.trustedRoot });

const extension = (id: string, critical: boolean, value: Asn1): Asn1 => seq([oid(id), ...(critical ? [bool(true)] : []), octets(toDer(value))]);
const san = extension(OID.subjectAltName, true, seq([implicitPrimitive(1, Buffer.from('release@acme.example', 'ascii'))]));
const keyUsage = extension(OID.keyUsage, true, bitString(Buffer.from([0x80]), 7));
const codeSigning = extension(OID.extKeyUsage, false, seq([oid(OID.codeSigning)]));
const notCa = extension(OID.basicConstraints, true, seq([]));

/** A leaf under the test CA with exactly these extensions, and a bundle it signed (timestamped). */
async function signedBy(extensions: Asn1[]): Promise<string> {
  const keys = generateKeyPair();
  const issuer = new X509Certificate(pki.ca.certificatePem);
  const issuerTbs = (fromDer(issuer.raw).value as Asn1[])[0]!;
  const now = Date.now();
  const tbs = seq([
    explicit(0, integer(2)),
    integer(randomSerial()),
    algorithm(OID.ecdsaWithSha256),
    (issuerTbs.value as Asn1[])[5]!,
    seq([time(new Date(now - 60_000)), time(new Date(now + 600_000))]),
    seq([]),
    fromDer(publicSpki(keys.publicKeyPem)),
    explicit(3, seq(extensions)),
  ]);
  const tbsDer = toDer(tbs);
  const der = toDer(seq([fromDer(tbsDer), algorithm(OID.ecdsaWithSha256), bitString(ecdsaSign(tbsDer, createPrivateKey(pki.ca.privateKeyPem)))]));
  const certificate = `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`;
  const signer = createSigner({ privateKey: keys.privateKeyPem, certificate, timestamp: { responder: pki.respond } });
  return JSON.stringify(await signManifestStatement(manifest, signer));
}

function publicSpki(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SigningError);
    return (e as SigningError).code;
  }
  throw new Error('expected a SigningError, nothing was thrown');
}

describe('when a bundle is signed by a certificate made by hand', () => {
  it('verifies one that meets every rule (the hand-made leaf is a real one), also from a kept result', async () => {
    const bundle = await signedBy([keyUsage, codeSigning, notCa, san]);
    const cache = new VerificationCache();
    expect(verifyManifestBundle(bundle, manifest, policy, { cache }).signer).toMatchObject({ identity: IDENTITY });
    expect(verifyManifestBundle(bundle, manifest, policy, { cache }).signer).toMatchObject({ identity: IDENTITY });
  });

  it.each([
    ['a CA certificate (cA true)', () => [keyUsage, codeSigning, extension(OID.basicConstraints, true, seq([bool(true)])), san]],
    ['no extended key usage', () => [keyUsage, notCa, san]],
    ['an extended key usage without codeSigning', () => [keyUsage, extension(OID.extKeyUsage, false, seq([oid(OID.timeStamping)])), notCa, san]],
    ['the extended key usage twice (the second without codeSigning)', () => [keyUsage, codeSigning, extension(OID.extKeyUsage, false, seq([oid(OID.timeStamping)])), notCa, san]],
    ['basicConstraints twice (the second a CA)', () => [keyUsage, codeSigning, notCa, extension(OID.basicConstraints, true, seq([bool(true)])), san]],
    ['a basicConstraints that is no SEQUENCE', () => [keyUsage, codeSigning, extension(OID.basicConstraints, true, bool(false)), san]],
    ['an extended key usage that is no SEQUENCE', () => [keyUsage, extension(OID.extKeyUsage, false, oid(OID.codeSigning)), notCa, san]],
    ['an extended key usage listing something that is no OID', () => [keyUsage, extension(OID.extKeyUsage, false, seq([oid(OID.codeSigning), integer(1)])), notCa, san]],
    ['no subjectAltName', () => [keyUsage, codeSigning, notCa]],
    ['two names in the subjectAltName', () => [keyUsage, codeSigning, notCa, extension(OID.subjectAltName, true, seq([implicitPrimitive(1, Buffer.from('release@acme.example', 'ascii')), implicitPrimitive(1, Buffer.from('other@acme.example', 'ascii'))]))]],
    ['a DNS name as the subjectAltName', () => [keyUsage, codeSigning, notCa, extension(OID.subjectAltName, true, seq([implicitPrimitive(2, Buffer.from('acme.example', 'ascii'))]))]],
    ['the subjectAltName twice', () => [keyUsage, codeSigning, notCa, san, extension(OID.subjectAltName, true, seq([implicitPrimitive(1, Buffer.from('other@acme.example', 'ascii'))]))]],
  ])('refuses %s with CERTIFICATE_INVALID', async (_label, extensions) => {
    const bundle = await signedBy(extensions());
    expect(codeOf(() => verifyManifestBundle(bundle, manifest, policy))).toBe('CERTIFICATE_INVALID');
  });
});
