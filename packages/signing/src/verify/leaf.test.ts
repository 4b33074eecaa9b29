import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { X509Certificate as SigstoreX509 } from '@sigstore/core';
import { describe, expect, it } from 'vitest';
import { algorithm, bitString, bool, ecdsaSign, explicit, fromDer, implicitPrimitive, integer, octets, OID, oid, randomSerial, seq, time, toDer, type Asn1 } from '../sign/der.js';
import { createSigner, generateKeyPair, issueLeaf, signManifestStatement } from '../sign/index.js';
import { codeOf, makeManifest, makePki } from '../testkit.js';
import { checkLeafIdentity } from './bundle.js';
import { certificateFingerprint, publicKeyFingerprint, SignerPolicy, type SigningError, VerificationCache, verifyManifestBundle } from './index.js';

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
/** An extension under an identifier written by hand (its DER content bytes, in hex). */
const rawExtension = (idHex: string, value: Asn1): Asn1 => seq([fromDer(Buffer.from(`06${(idHex.length / 2).toString(16).padStart(2, '0')}${idHex}`, 'hex')), octets(toDer(value))]);

/** A leaf under the test CA with exactly these extensions, and a bundle it signed (timestamped). */
async function signedByLeaf(extensions: Asn1[], extraFields: Asn1[] = []): Promise<{ text: string; publicKeyPem: string }> {
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
    ...extraFields,
  ]);
  const tbsDer = toDer(tbs);
  const der = toDer(seq([fromDer(tbsDer), algorithm(OID.ecdsaWithSha256), bitString(ecdsaSign(tbsDer, createPrivateKey(pki.ca.privateKeyPem)))]));
  // Signed with an ordinary leaf for the same key (the signing side parses its certificate with
  // OpenSSL, which refuses some of the leaves made here), then the hand-made leaf put in its place:
  // the signature and the timestamp over it hold for either.
  const ordinary = issueLeaf(pki.ca, { publicKey: keys.publicKeyPem, identity: IDENTITY });
  const signer = createSigner({ privateKey: keys.privateKeyPem, certificate: ordinary, timestamp: { responder: pki.respond } });
  const bundle = (await signManifestStatement(manifest, signer)) as unknown as { verificationMaterial: { certificate: { rawBytes: string } } };
  bundle.verificationMaterial.certificate.rawBytes = der.toString('base64');
  return { text: JSON.stringify(bundle), publicKeyPem: keys.publicKeyPem };
}

/** The bundle's text alone. */
const signedBy = async (extensions: Asn1[], extraFields: Asn1[] = []): Promise<string> => (await signedByLeaf(extensions, extraFields)).text;

function publicSpki(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
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
    ['the extended key usage twice, both harmless', () => [keyUsage, codeSigning, codeSigning, notCa, san]],
    ['basicConstraints twice, both not a CA', () => [keyUsage, codeSigning, notCa, notCa, san]],
    ['a CA flag under basicConstraints written with a padded identifier (55 1d 80 13)', () => [keyUsage, codeSigning, rawExtension('551d8013', seq([bool(true)])), san]],
    ['a second SAN under a padded identifier (55 1d 80 11), before the real one', () => [keyUsage, codeSigning, notCa, rawExtension('551d8011', seq([implicitPrimitive(1, Buffer.from('evil@acme.example', 'ascii'))])), san]],
    ['an extended key usage listing codeSigning under a padded identifier', () => [keyUsage, extension(OID.extKeyUsage, false, seq([fromDer(Buffer.from('06092b0601050507800303', 'hex'))])), notCa, san]],
    ['an extension of three fields whose middle one is no critical flag', () => [keyUsage, codeSigning, seq([oid(OID.basicConstraints), octets(toDer(seq([bool(true)]))), octets(Buffer.alloc(0))]), san]],
    ['an extension value holding two elements', () => [keyUsage, codeSigning, seq([oid(OID.basicConstraints), bool(true), octets(Buffer.concat([toDer(seq([])), toDer(seq([bool(true)]))]))]), san]],
    ['basicConstraints whose fields are out of order', () => [keyUsage, codeSigning, extension(OID.basicConstraints, true, seq([integer(0), bool(false)])), san]],
    ['no subjectAltName', () => [keyUsage, codeSigning, notCa]],
    ['two names in the subjectAltName', () => [keyUsage, codeSigning, notCa, extension(OID.subjectAltName, true, seq([implicitPrimitive(1, Buffer.from('release@acme.example', 'ascii')), implicitPrimitive(1, Buffer.from('other@acme.example', 'ascii'))]))]],
    ['a DNS name as the subjectAltName', () => [keyUsage, codeSigning, notCa, extension(OID.subjectAltName, true, seq([implicitPrimitive(2, Buffer.from('acme.example', 'ascii'))]))]],
    ['the subjectAltName twice', () => [keyUsage, codeSigning, notCa, san, extension(OID.subjectAltName, true, seq([implicitPrimitive(1, Buffer.from('other@acme.example', 'ascii'))]))]],
  ])('refuses %s with CERTIFICATE_INVALID', async (_label, extensions) => {
    const bundle = await signedBy(extensions());
    expect(codeOf(() => verifyManifestBundle(bundle, manifest, policy))).toBe('CERTIFICATE_INVALID');
  });

  it('refuses a certificate with two extension fields, the second naming it a CA', async () => {
    const bundle = await signedBy([keyUsage, codeSigning, notCa, san], [explicit(3, seq([extension(OID.basicConstraints, true, seq([bool(true)]))]))]);
    expect(codeOf(() => verifyManifestBundle(bundle, manifest, policy))).toBe('CERTIFICATE_INVALID');
  });

  it('does not take a planted result for a leaf whose rules fail (a second SAN under a padded identifier): refused as without it', async () => {
    const genuineBundle = await signedBy([keyUsage, codeSigning, notCa, san]);
    const genuine = new VerificationCache();
    verifyManifestBundle(genuineBundle, manifest, policy, { cache: genuine });
    const [entry] = genuine.toJSON();
    const { text: forged, publicKeyPem } = await signedByLeaf([keyUsage, codeSigning, notCa, rawExtension('551d8011', seq([implicitPrimitive(1, Buffer.from('evil@acme.example', 'ascii'))])), san]);
    const parsed = JSON.parse(forged) as { dsseEnvelope: { payload: string } };
    const digest = `sha256:${createHash('sha256').update(forged).digest('hex')}`;
    const cache = new VerificationCache();
    expect(cache.load([{ ...entry!, key: entry!.key.replace(entry!.bundleDigest, digest), bundleDigest: digest, payload: parsed.dsseEnvelope.payload, signer: { ...entry!.signer, keyFingerprint: publicKeyFingerprint(publicKeyPem) } }])).toBe(1);
    expect(codeOf(() => verifyManifestBundle(forged, manifest, policy, { cache }))).toBe('CERTIFICATE_INVALID');
  });
});

describe('when the leaf rules read real certificates', () => {
  // Every certificate in the real Sigstore material under fixtures/ (Fulcio leaves, CAs, TSAs,
  // CT logs): the rules read from @sigstore/core's tree must judge each as OpenSSL reads it (not a
  // CA, codeSigning in the extended key usage), and give the identity of its one SAN.
  it('agree with OpenSSL on every one, and accept the Fulcio leaves', () => {
    const root = fileURLToPath(new URL('../../fixtures', import.meta.url));
    const found = new Set<string>();
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object') {
        for (const [key, v] of Object.entries(value)) {
          if (key === 'rawBytes' && typeof v === 'string') found.add(v);
          else walk(v);
        }
      }
    };
    for (const dir of ['npm', ...readdirSync(join(root, 'sigstore-conformance')).map((d) => join('sigstore-conformance', d))]) {
      if (!statSync(join(root, dir)).isDirectory()) continue;
      for (const file of readdirSync(join(root, dir)).filter((f) => f.endsWith('.json'))) {
        try {
          walk(JSON.parse(readFileSync(join(root, dir, file), 'utf8')));
        } catch {
          // a fixture that is deliberately not JSON
        }
      }
    }
    let accepted = 0;
    let judged = 0;
    for (const b64 of found) {
      const der = Buffer.from(b64, 'base64');
      let openssl: X509Certificate;
      try {
        openssl = new X509Certificate(der);
      } catch {
        continue; // not a certificate (a key, a timestamp)
      }
      judged++;
      const leafByOpenSsl = !openssl.ca && (openssl.keyUsage ?? []).includes(OID.codeSigning);
      let identity: string | undefined;
      try {
        identity = checkLeafIdentity(SigstoreX509.parse(der));
      } catch (e) {
        expect((e as SigningError).code).toBe('CERTIFICATE_INVALID');
      }
      expect(identity !== undefined).toBe(leafByOpenSsl);
      if (identity !== undefined) {
        accepted++;
        expect(openssl.subjectAltName).toContain(identity.replace(/^mailto:/, ''));
      }
    }
    expect(judged).toBeGreaterThanOrEqual(30);
    expect(accepted).toBeGreaterThanOrEqual(20);
  });
});
