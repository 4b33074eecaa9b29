import { createHash, createPublicKey, hash, X509Certificate, type KeyObject } from 'node:crypto';
import { SigningError } from './errors.js';

/** Longest PEM text accepted for one key or certificate chain. */
export const MAX_PEM_BYTES = 64 * 1024;

/**
 * `SHA256:<base64>` (unpadded) of the DER SubjectPublicKeyInfo: the public-key hint we put in
 * bundles and the fingerprint people compare (the form npm's registry keys use).
 * @example publicKeyFingerprint(readFileSync('acme.pub', 'utf8')) // 'SHA256:jl3bwswu80Pj…'
 */
export function publicKeyFingerprint(key: string | KeyObject): string {
  if (typeof key === 'string') {
    const known = pemFingerprints.get(key);
    if (known !== undefined) return known;
    // A P-256 key in the exact PEM OpenSSL writes, its point on the curve: its DER is what the
    // imported key would export, so it is hashed as it is, without asking OpenSSL to import a key
    // (the first import in a process costs more than a millisecond; a host start that believes
    // its sealed results verifies no signature with it).
    const der = canonicalP256Der(key);
    if (der !== undefined && onP256(der)) {
      // One-shot crypto.hash: a Hash object is a stream, whose first construction in a process costs half a millisecond.
      const fingerprint = `SHA256:${hash('sha256', der, 'base64').replace(/=+$/, '')}`;
      if (pemFingerprints.size >= MAX_PARSED_KEYS) pemFingerprints.clear();
      pemFingerprints.set(key, fingerprint);
      return fingerprint;
    }
  }
  const object = toPublicKey(key);
  let fingerprint = fingerprints.get(object);
  if (fingerprint === undefined) {
    const spki = object.export({ type: 'spki', format: 'der' });
    fingerprints.set(object, (fingerprint = `SHA256:${createHash('sha256').update(spki).digest('base64').replace(/=+$/, '')}`));
  }
  return fingerprint;
}

/** Fingerprints of the key objects met in this process (a key object never changes). */
const fingerprints = new WeakMap<KeyObject, string>();
/** Fingerprints of the canonical P-256 PEM texts met in this process, by their text. */
const pemFingerprints = new Map<string, string>();

/**
 * Public keys parsed in this process, by their PEM text: a host start reads the same few keys
 * (the status key, the reviewers') in its policy, its pinned keys and each signer set, and
 * OpenSSL 3's decoder takes most of a millisecond a key when a process has just started. A key
 * object is immutable, so sharing one changes nothing. Bounded, like the other per-process memos.
 */
const parsedKeys = new Map<string, KeyObject>();
const MAX_PARSED_KEYS = 64;

/**
 * `SHA256:<base64>` (unpadded) of a certificate's DER: how policies name a CA certificate.
 * @example certificateFingerprint(caPem) // 'SHA256:Q2h…'
 */
export function certificateFingerprint(certificate: string | Uint8Array): string {
  const der = typeof certificate === 'string' ? parseCertificate(certificate).raw : certificate;
  return `SHA256:${createHash('sha256').update(der).digest('base64').replace(/=+$/, '')}`;
}

/** Parses an SPKI PEM public key (or a private key, whose public half is taken), refusing anything but ECDSA P-256. */
export function toPublicKey(key: string | KeyObject): KeyObject {
  let object: KeyObject;
  if (typeof key === 'string') {
    const known = parsedKeys.get(key);
    if (known) return known;
    if (key.length > MAX_PEM_BYTES) throw new SigningError('KEY_INVALID', `the key is longer than ${MAX_PEM_BYTES} bytes`);
    try {
      object = p256FromPem(key) ?? createPublicKey(key);
    } catch (cause) {
      throw new SigningError('KEY_INVALID', 'not a PEM public key', { cause });
    }
    assertP256(object);
    // Public keys only: a private key's text is not kept alive for the public half's sake.
    if (!key.includes('PRIVATE KEY')) {
      if (parsedKeys.size >= MAX_PARSED_KEYS) parsedKeys.clear();
      parsedKeys.set(key, object);
    }
    return object;
  } else {
    object = key.type === 'public' ? key : createPublicKey(key);
  }
  assertP256(object);
  return object;
}

/**
 * DER SubjectPublicKeyInfo of every uncompressed P-256 key, up to the point: SEQUENCE {
 * SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING { 0x04 || X || Y } } (RFC 5480).
 */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200' + '04', 'hex');

/**
 * A public key from its DER SubjectPublicKeyInfo, as `createPublicKey({ format: 'der', type:
 * 'spki' })` gives it. An uncompressed P-256 key (what Sigstore and Sigil certificates carry) is
 * handed to OpenSSL as its coordinates (JWK), which takes about half the time of OpenSSL 3's DER
 * decoder lookup, a host's largest cost per distinct signing certificate; OpenSSL still checks
 * the point is on the curve. Anything else goes through the DER decoder.
 * @throws what createPublicKey throws for bytes that are no key
 */
export function spkiKey(spki: Uint8Array): KeyObject {
  const bytes = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength);
  if (bytes.length === P256_SPKI_PREFIX.length + 64 && bytes.subarray(0, P256_SPKI_PREFIX.length).equals(P256_SPKI_PREFIX)) {
    const at = P256_SPKI_PREFIX.length;
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: bytes.toString('base64url', at, at + 32), y: bytes.toString('base64url', at + 32, at + 64) }, format: 'jwk' });
  }
  return createPublicKey({ key: Buffer.from(bytes), format: 'der', type: 'spki' });
}

/** A PEM public key block as OpenSSL and Node write one: 64-character lines of base64. */
const PEM_PUBLIC_KEY = /^-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]{1,256})-----END PUBLIC KEY-----\r?\n?$/;

/**
 * The key of a PEM P-256 public key as OpenSSL writes it, imported as its coordinates (spkiKey),
 * or undefined for any other text, which then goes to OpenSSL's PEM decoder. A host start reads
 * the registry's status key and its reviewers' keys, and the decoder's first use in a process
 * costs more than a millisecond; this path takes only the exact text a P-256 key's PEM is (the
 * base64 of the 91 bytes of its SubjectPublicKeyInfo, canonical, in lines), so every key it takes
 * is the key the decoder would have given (keys.test.ts compares them).
 * @internal exported for its test
 */
export function p256FromPem(pem: string): KeyObject | undefined {
  const der = canonicalP256Der(pem);
  return der === undefined ? undefined : spkiKey(der);
}

/** The 91 bytes of an uncompressed P-256 SubjectPublicKeyInfo that `pem` is exactly the PEM of, as OpenSSL writes it; undefined for any other text. */
function canonicalP256Der(pem: string): Buffer | undefined {
  const body = PEM_PUBLIC_KEY.exec(pem)?.[1];
  if (body === undefined) return undefined;
  const lines = body.split(/\r?\n/);
  if (lines.pop() !== '' || lines.some((line, i) => line.length === 0 || line.length > 64 || (i < lines.length - 1 && line.length !== 64))) return undefined;
  const base64 = lines.join('');
  const der = Buffer.from(base64, 'base64');
  if (der.length !== P256_SPKI_PREFIX.length + 64 || !der.subarray(0, P256_SPKI_PREFIX.length).equals(P256_SPKI_PREFIX) || der.toString('base64') !== base64) return undefined;
  return der;
}

// NIST P-256 (FIPS 186-4, D.1.2.3; SEC 2, 2.4.2): y^2 = x^3 - 3x + b over GF(p).
const P256_P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const P256_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

/**
 * Whether the uncompressed point of a canonical P-256 SubjectPublicKeyInfo (canonicalP256Der) is
 * a point of the curve: both coordinates below p and the curve equation holding. P-256 has
 * cofactor 1, so that is the whole public-key validation OpenSSL's import does
 * (EC_KEY_check_key: on the curve, not the point at infinity, which the uncompressed form cannot
 * write, and of the group's order); keys.test.ts holds it to OpenSSL's verdict.
 */
function onP256(der: Buffer): boolean {
  const at = P256_SPKI_PREFIX.length;
  const x = BigInt(`0x${der.toString('hex', at, at + 32)}`);
  const y = BigInt(`0x${der.toString('hex', at + 32, at + 64)}`);
  if (x >= P256_P || y >= P256_P) return false;
  const p = P256_P;
  const rhs = (((((x * x) % p) * x) % p) - ((3n * x) % p) + P256_B + 2n * p) % p;
  return (y * y) % p === rhs;
}

/** Refuses a key that is not ECDSA P-256. */
export function assertP256(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new SigningError('KEY_INVALID', `expected an ECDSA P-256 key, got ${key.asymmetricKeyType ?? 'unknown'} ${key.asymmetricKeyDetails?.namedCurve ?? ''}`.trim());
  }
}

/** Parses one PEM certificate (the first block of the text). */
export function parseCertificate(pem: string): X509Certificate {
  if (pem.length > MAX_PEM_BYTES) throw new SigningError('KEY_INVALID', `the certificate is longer than ${MAX_PEM_BYTES} bytes`);
  try {
    return new X509Certificate(pem);
  } catch (cause) {
    throw new SigningError('KEY_INVALID', 'not a PEM certificate', { cause });
  }
}

/** PEM armour around a private key of any kind (PKCS#8, SEC 1, PKCS#1, encrypted). */
const PRIVATE_KEY_ARMOUR = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
/** Every PEM block of a text, and its label. */
const PEM_BLOCKS = /-----BEGIN ([A-Z0-9 ]{1,64})-----[A-Za-z0-9+/=\s]*?-----END \1-----/g;

/** The PEM blocks of `text` with their labels, or undefined when anything but whitespace stands between or around them. */
function pemBlocks(text: string): Array<{ label: string; pem: string }> | undefined {
  const blocks: Array<{ label: string; pem: string }> = [];
  let at = 0;
  for (const match of text.matchAll(PEM_BLOCKS)) {
    if (text.slice(at, match.index).trim() !== '') return undefined;
    blocks.push({ label: match[1]!, pem: match[0] });
    at = match.index + match[0].length;
  }
  return text.slice(at).trim() === '' ? blocks : undefined;
}

const PRIVATE_KEY_GIVEN = 'this text holds a private key; give its public half (the .pub file sigil keygen writes beside it)';

/**
 * The canonical SPKI PEM of the one ECDSA P-256 public key `text` is: exactly one `PUBLIC KEY`
 * block and nothing else. What a registry stores and a CLI sends where a public key goes: a private
 * key, which {@link toPublicKey} takes (for its public half), is refused here, so its text is never
 * sent, stored, or served back as a signer's key.
 * @example publicKeyPem(readFileSync('acme.key.pub', 'utf8')) // '-----BEGIN PUBLIC KEY-----\nMFkw…'
 * @throws SigningError `KEY_INVALID`
 */
export function publicKeyPem(text: string): string {
  if (text.length > MAX_PEM_BYTES) throw new SigningError('KEY_INVALID', `the key is longer than ${MAX_PEM_BYTES} bytes`);
  if (PRIVATE_KEY_ARMOUR.test(text)) throw new SigningError('KEY_INVALID', PRIVATE_KEY_GIVEN);
  const blocks = pemBlocks(text);
  if (blocks?.length !== 1 || blocks[0]!.label !== 'PUBLIC KEY') throw new SigningError('KEY_INVALID', 'not one PEM public key (a single -----BEGIN PUBLIC KEY----- block and nothing else)');
  return toPublicKey(blocks[0]!.pem).export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * The CERTIFICATE blocks of a PEM certificate chain, alone: what a registry stores and serves. The
 * text between blocks (the subject and issuer lines `openssl s_client -showcerts` writes) is left
 * out; a block of any other kind, above all a private key appended to the chain, is refused rather
 * than carried along into what is stored.
 * @throws SigningError `KEY_INVALID`
 */
export function certificateChainPem(text: string): string {
  if (text.length > MAX_PEM_BYTES) throw new SigningError('KEY_INVALID', `the certificate chain is longer than ${MAX_PEM_BYTES} bytes`);
  if (PRIVATE_KEY_ARMOUR.test(text)) throw new SigningError('KEY_INVALID', 'this text holds a private key; give the certificate chain alone');
  const other = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]{1,64})-----/g)].find((m) => m[1] !== 'CERTIFICATE');
  if (other) throw new SigningError('KEY_INVALID', `a certificate chain holds CERTIFICATE blocks only, not ${other[1]}`);
  return splitPemCertificates(text).join('');
}

/** Splits PEM text into its CERTIFICATE blocks (at most 16), in order. */
export function splitPemCertificates(pem: string): string[] {
  if (pem.length > MAX_PEM_BYTES) throw new SigningError('KEY_INVALID', `the certificate chain is longer than ${MAX_PEM_BYTES} bytes`);
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new SigningError('KEY_INVALID', 'no PEM certificate found');
  if (blocks.length > 16) throw new SigningError('KEY_INVALID', 'more than 16 certificates in one chain');
  return blocks.map((b) => `${b}\n`);
}
