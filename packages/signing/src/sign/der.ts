import { createHash, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

/**
 * DER building blocks on node-forge's ASN.1 writer. node-forge 1.4 has no ECDSA, so it cannot
 * sign (or even hold) a P-256 key: we build the structures with forge and sign with node:crypto.
 */
const { asn1 } = forge;
export type Asn1 = forge.asn1.Asn1;

export const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
} as const;

const U = asn1.Class.UNIVERSAL;
const T = asn1.Type;

export const seq = (items: Asn1[]): Asn1 => asn1.create(U, T.SEQUENCE, true, items);
export const set = (items: Asn1[]): Asn1 => asn1.create(U, T.SET, true, sortDer(items));
export const oid = (id: string): Asn1 => asn1.create(U, T.OID, false, asn1.oidToDer(id).getBytes());
export const octets = (bytes: Uint8Array): Asn1 => asn1.create(U, T.OCTETSTRING, false, bin(bytes));
export const bool = (value: boolean): Asn1 => asn1.create(U, T.BOOLEAN, false, String.fromCharCode(value ? 0xff : 0x00));
export const utf8 = (text: string): Asn1 => asn1.create(U, T.UTF8, false, forge.util.encodeUtf8(text));
export const nul = (): Asn1 => asn1.create(U, T.NULL, false, '');
export const explicit = (tag: number, inner: Asn1): Asn1 => asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, true, [inner]);
export const implicitPrimitive = (tag: number, bytes: Uint8Array): Asn1 => asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, false, bin(bytes));
export const bitString = (bytes: Uint8Array, unusedBits = 0): Asn1 => asn1.create(U, T.BITSTRING, false, String.fromCharCode(unusedBits) + bin(bytes));
export const algorithm = (id: string): Asn1 => seq([oid(id)]);

/** A non-negative INTEGER from big-endian bytes (a leading zero added when the top bit is set). */
export function integer(bytes: Uint8Array | number): Asn1 {
  if (typeof bytes === 'number') return asn1.create(U, T.INTEGER, false, asn1.integerToDer(bytes).getBytes());
  let b = Buffer.from(bytes);
  while (b.length > 1 && b[0] === 0 && b[1]! < 0x80) b = b.subarray(1);
  if (b[0]! >= 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return asn1.create(U, T.INTEGER, false, bin(b));
}

/** A positive random serial number of 16 bytes (RFC 5280: at most 20 octets, unpredictable). */
export function randomSerial(): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  return serial;
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
export function time(date: Date): Asn1 {
  const whole = new Date(Math.floor(date.getTime() / 1000) * 1000);
  return whole.getUTCFullYear() < 2050 ? asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(whole)) : generalizedTime(whole);
}

/** GeneralizedTime with whole seconds, `YYYYMMDDHHMMSSZ`. */
export function generalizedTime(date: Date): Asn1 {
  const text = date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:T]/g, '');
  return asn1.create(U, T.GENERALIZEDTIME, false, text);
}

/** A Name with an optional organization and a common name. */
export function name(fields: { commonName?: string; organization?: string }): Asn1 {
  const rdns: Asn1[] = [];
  if (fields.organization) rdns.push(set([seq([oid(OID.organization), utf8(fields.organization)])]));
  if (fields.commonName) rdns.push(set([seq([oid(OID.commonName), utf8(fields.commonName)])]));
  return seq(rdns);
}

/** DER bytes of an ASN.1 object. */
export function toDer(obj: Asn1): Buffer {
  return Buffer.from(asn1.toDer(obj).getBytes(), 'binary');
}

/** Parses DER into forge's ASN.1 tree (strict, bounded depth), for embedding or reading. */
export function fromDer(bytes: Uint8Array): Asn1 {
  // The typings know only the boolean form; forge 1.x takes these options.
  return (asn1.fromDer as unknown as (bytes: string, options: object) => Asn1)(bin(bytes), { strict: true, parseAllBytes: true, decodeBitStrings: false });
}

/** The raw bytes of a primitive value. */
export function valueBytes(obj: Asn1): Buffer {
  return Buffer.from(obj.value as string, 'binary');
}

/** ECDSA P-256 with SHA-256, DER-encoded signature (what X.509 and CMS carry). */
export function ecdsaSign(data: Uint8Array, key: KeyObject): Buffer {
  return cryptoSign('sha256', data, { key, dsaEncoding: 'der' });
}

/** Key identifier: the leftmost 160 bits of SHA-256 of the SPKI (RFC 7093 style). */
export function keyIdentifier(spkiDer: Uint8Array): Buffer {
  return createHash('sha256').update(spkiDer).digest().subarray(0, 20);
}

function bin(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('binary');
}

/** DER SET OF: elements in ascending order of their encodings (X.690 11.6). */
function sortDer(items: Asn1[]): Asn1[] {
  return items
    .map((item) => ({ item, der: toDer(item) }))
    .sort((a, b) => Buffer.compare(a.der, b.der))
    .map((x) => x.item);
}
