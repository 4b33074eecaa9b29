import type { X509Certificate} from 'node:crypto';
import { type KeyObject } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SigningError } from '../errors.js';
import { parseCertificate, splitPemCertificates, toPublicKey } from '../keys.js';
import { CertificateIdentity } from '../verify/policy.js';
import { algorithm, bitString, bool, ecdsaSign, explicit, fromDer, implicitPrimitive, integer, keyIdentifier, name, octets, oid, OID, randomSerial, seq, time, toDer, type Asn1 } from './der.js';
import { generateKeyPair, parsePrivateKey, readPem, writeNew } from './keys.js';

/** A certificate authority: its certificate, its key, and its chain up to the root. */
export interface CaMaterial {
  /** The CA certificate (PEM). */
  certificatePem: string;
  /** Its private key (PKCS#8 PEM, ECDSA P-256). */
  privateKeyPem: string;
  /** This CA's certificate then its parents, root last (PEM); equals `certificatePem` for a root. */
  chainPem: string;
}

/** A timestamp authority's key and certificate chain (TSA certificate first, root last). */
export interface TsaMaterial {
  privateKeyPem: string;
  certificatePem: string;
  chainPem: string;
}

/** Files of a CA directory made by `sigil ca init`. */
export const CA_FILES = { certificate: 'ca.crt', privateKey: 'ca.key', chain: 'chain.pem' } as const;

/** Bounds on validity periods, in days. */
export const VALIDITY_LIMITS = { caDays: 30 * 366, leafDays: 397, defaultCaDays: 3650, defaultLeafDays: 7, defaultTsaDays: 3650 } as const;

const DAY = 24 * 60 * 60 * 1000;
/** Certificates start a little in the past so a slightly slow clock still accepts them. */
const BACKDATE = 5 * 60 * 1000;

/**
 * Creates a self-signed root CA (ECDSA P-256 key, SHA-256 signature).
 * @example const ca = createCa({ name: 'Acme Signing CA', days: 3650 });
 */
export function createCa(options: { name?: string; organization?: string; days?: number; now?: Date } = {}): CaMaterial {
  const keys = generateKeyPair();
  const key = parsePrivateKey(keys.privateKeyPem);
  const subject = name({ commonName: options.name ?? 'Sigil CA', ...(options.organization ? { organization: options.organization } : {}) });
  const { notBefore, notAfter } = period(options.now, options.days ?? VALIDITY_LIMITS.defaultCaDays, VALIDITY_LIMITS.caDays);
  const spki = spkiDer(keys.publicKeyPem);
  const pem = buildCertificate({
    subject,
    issuer: subject,
    spki,
    notBefore,
    notAfter,
    extensions: [caExtensions(1), skiExtension(spki), akiExtension(spki)].flat(),
    signingKey: key,
  });
  return { certificatePem: pem, privateKeyPem: keys.privateKeyPem, chainPem: pem };
}

/**
 * Creates an intermediate CA under `parent` (path length 0: it issues only leaves).
 * @example const issuing = createIntermediateCa(root, { name: 'Acme Release CA' });
 */
export function createIntermediateCa(parent: CaMaterial, options: { name?: string; days?: number; now?: Date } = {}): CaMaterial {
  const keys = generateKeyPair();
  const issuerCert = parseCertificate(parent.certificatePem);
  const spki = spkiDer(keys.publicKeyPem);
  const { notBefore, notAfter } = period(options.now, options.days ?? VALIDITY_LIMITS.defaultCaDays, VALIDITY_LIMITS.caDays);
  const pem = buildCertificate({
    subject: name({ commonName: options.name ?? 'Sigil intermediate CA' }),
    issuer: subjectOf(issuerCert),
    spki,
    notBefore: clampStart(notBefore, issuerCert),
    notAfter: clampEnd(notAfter, issuerCert),
    extensions: [caExtensions(0), skiExtension(spki), akiExtension(spkiDer(issuerCert.publicKey))].flat(),
    signingKey: parsePrivateKey(parent.privateKeyPem),
  });
  return { certificatePem: pem, privateKeyPem: keys.privateKeyPem, chainPem: pem + parent.chainPem };
}

/**
 * Issues a short-lived code-signing leaf for `publicKey` with one SAN: an email
 * (`mailto:<email>`) or an `https://` URI. Validity: `days` from now (default 7), or the exact
 * `notBefore`/`notAfter` given, always inside the CA's own validity.
 * @example const certPem = issueLeaf(ca, { publicKey: pair.publicKeyPem, identity: 'mailto:release@acme.example', days: 1 });
 * @throws SigningError `KEY_INVALID` (not P-256, bad identity)
 */
export function issueLeaf(ca: CaMaterial, options: { publicKey: string | KeyObject; identity: string; days?: number; notBefore?: Date; notAfter?: Date }): string {
  const identity = CertificateIdentity.safeParse(options.identity);
  if (!identity.success) throw new SigningError('KEY_INVALID', `the identity must be mailto:<email> or an https:// URI, got ${JSON.stringify(options.identity.slice(0, 200))}`);
  const san = identity.data.startsWith('mailto:') ? implicitPrimitive(1, Buffer.from(identity.data.slice('mailto:'.length), 'ascii')) : implicitPrimitive(6, Buffer.from(identity.data, 'ascii'));
  const issuerCert = parseCertificate(ca.certificatePem);
  const spki = spkiDer(options.publicKey);
  const computed = period(undefined, options.days ?? VALIDITY_LIMITS.defaultLeafDays, VALIDITY_LIMITS.leafDays);
  const notBefore = options.notBefore ?? clampStart(computed.notBefore, issuerCert);
  const notAfter = options.notAfter ?? clampEnd(computed.notAfter, issuerCert);
  if (notAfter <= notBefore) throw new SigningError('KEY_INVALID', 'the certificate would end before it starts');
  return buildCertificate({
    // Like Fulcio: an empty subject, the identity lives in the (then critical) SAN.
    subject: seq([]),
    issuer: subjectOf(issuerCert),
    spki,
    notBefore,
    notAfter,
    extensions: [
      extension(OID.keyUsage, true, bitString(Buffer.from([0x80]), 7)), // digitalSignature
      extension(OID.extKeyUsage, false, seq([oid(OID.codeSigning)])),
      extension(OID.basicConstraints, true, seq([])),
      extension(OID.subjectAltName, true, seq([san])),
      skiExtension(spki),
      akiExtension(spkiDer(issuerCert.publicKey)),
    ],
    signingKey: parsePrivateKey(ca.privateKeyPem),
  });
}

/**
 * Creates a timestamp authority under `ca`: a fresh P-256 key and a certificate with the critical
 * timeStamping extended key usage RFC 3161 requires.
 * @example const tsa = createTsa(ca); const respond = createTimestampResponder(tsa);
 */
export function createTsa(ca: CaMaterial, options: { name?: string; days?: number; now?: Date } = {}): TsaMaterial {
  const keys = generateKeyPair();
  const issuerCert = parseCertificate(ca.certificatePem);
  const spki = spkiDer(keys.publicKeyPem);
  const { notBefore, notAfter } = period(options.now, options.days ?? VALIDITY_LIMITS.defaultTsaDays, VALIDITY_LIMITS.caDays);
  const pem = buildCertificate({
    subject: name({ commonName: options.name ?? 'Sigil timestamp authority' }),
    issuer: subjectOf(issuerCert),
    spki,
    notBefore: clampStart(notBefore, issuerCert),
    notAfter: clampEnd(notAfter, issuerCert),
    extensions: [
      extension(OID.keyUsage, true, bitString(Buffer.from([0x80]), 7)),
      extension(OID.extKeyUsage, true, seq([oid(OID.timeStamping)])),
      extension(OID.basicConstraints, true, seq([])),
      skiExtension(spki),
      akiExtension(spkiDer(issuerCert.publicKey)),
    ],
    signingKey: parsePrivateKey(ca.privateKeyPem),
  });
  return { privateKeyPem: keys.privateKeyPem, certificatePem: pem, chainPem: pem + ca.chainPem };
}

/**
 * Writes a CA directory: `ca.crt`, `ca.key` (0600) and `chain.pem`. Never overwrites.
 * @example await writeCa('acme-ca', createCa({ name: 'Acme' }));
 * @throws SigningError `FILE_EXISTS` or `IO_FAILED`
 */
export async function writeCa(dir: string, ca: CaMaterial): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (cause) {
    throw new SigningError('IO_FAILED', `cannot create ${dir}`, { cause });
  }
  for (const file of Object.values(CA_FILES)) {
    const exists = await stat(join(dir, file)).then(
      () => true,
      () => false,
    );
    if (exists) throw new SigningError('FILE_EXISTS', `${join(dir, file)} already exists; a CA is never overwritten`);
  }
  await writeNew(join(dir, CA_FILES.privateKey), ca.privateKeyPem, 0o600);
  await writeNew(join(dir, CA_FILES.certificate), ca.certificatePem, 0o644);
  await writeNew(join(dir, CA_FILES.chain), ca.chainPem, 0o644);
}

/**
 * Reads a CA directory written by {@link writeCa} (or by `sigil ca init`). A caller that has
 * already read `ca.key` (to check its owner and mode on the open file) passes that text as
 * `privateKeyPem`, so the key checked is the key used: the file is not opened a second time,
 * when it could have been swapped.
 * @throws SigningError `IO_FAILED` or `KEY_INVALID`
 * @example const ca = await readCa('ca', { privateKeyPem: checkedKeyText });
 */
export async function readCa(dir: string, options: { privateKeyPem?: string } = {}): Promise<CaMaterial> {
  const privateKeyPem = options.privateKeyPem ?? (await readPem(join(dir, CA_FILES.privateKey)));
  const certificatePem = await readPem(join(dir, CA_FILES.certificate));
  const chainPem = await readPem(join(dir, CA_FILES.chain)).catch(() => certificatePem);
  const cert = parseCertificate(certificatePem);
  if (!cert.ca) throw new SigningError('KEY_INVALID', `${join(dir, CA_FILES.certificate)} is not a CA certificate`);
  if (!cert.checkPrivateKey(parsePrivateKey(privateKeyPem))) throw new SigningError('KEY_INVALID', `${join(dir, CA_FILES.privateKey)} is not the key of ${join(dir, CA_FILES.certificate)}`);
  splitPemCertificates(chainPem);
  return { certificatePem, privateKeyPem, chainPem };
}

function buildCertificate(input: { subject: Asn1; issuer: Asn1; spki: Buffer; notBefore: Date; notAfter: Date; extensions: Asn1[]; signingKey: KeyObject }): string {
  const tbs = seq([
    explicit(0, integer(2)), // v3
    integer(randomSerial()),
    algorithm(OID.ecdsaWithSha256),
    input.issuer,
    seq([time(input.notBefore), time(input.notAfter)]),
    input.subject,
    fromDer(input.spki),
    explicit(3, seq(input.extensions)),
  ]);
  const tbsDer = toDer(tbs);
  const certificate = seq([fromDer(tbsDer), algorithm(OID.ecdsaWithSha256), bitString(ecdsaSign(tbsDer, input.signingKey))]);
  const der = toDer(certificate);
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

function extension(id: string, critical: boolean, value: Asn1): Asn1 {
  return seq([oid(id), ...(critical ? [bool(true)] : []), octets(toDer(value))]);
}

function caExtensions(pathLength: number): Asn1[] {
  return [
    extension(OID.basicConstraints, true, seq([bool(true), integer(pathLength)])),
    extension(OID.keyUsage, true, bitString(Buffer.from([0x06]), 1)), // keyCertSign, cRLSign
  ];
}

function skiExtension(spki: Buffer): Asn1 {
  return extension(OID.subjectKeyIdentifier, false, octets(keyIdentifier(spki)));
}

function akiExtension(issuerSpki: Buffer): Asn1 {
  return extension(OID.authorityKeyIdentifier, false, seq([implicitPrimitive(0, keyIdentifier(issuerSpki))]));
}

function spkiDer(key: string | KeyObject): Buffer {
  return toPublicKey(key).export({ type: 'spki', format: 'der' });
}

/** The subject Name of a certificate, as DER, for the issuer field of what it signs. */
function subjectOf(cert: X509Certificate): Asn1 {
  // tbsCertificate: [version, serial, sigAlg, issuer, validity, subject, …]
  const tbs = (fromDer(cert.raw).value as Asn1[])[0]!;
  return (tbs.value as Asn1[])[5]!;
}

function period(now: Date | undefined, days: number, max: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isInteger(days) || days < 1 || days > max) throw new SigningError('KEY_INVALID', `validity must be a whole number of days from 1 to ${max}, got ${days}`);
  const start = now ?? new Date();
  return { notBefore: new Date(start.getTime() - BACKDATE), notAfter: new Date(start.getTime() + days * DAY) };
}

function clampStart(date: Date, issuer: X509Certificate): Date {
  const from = new Date(issuer.validFrom);
  return date < from ? from : date;
}

function clampEnd(date: Date, issuer: X509Certificate): Date {
  const to = new Date(issuer.validTo);
  return date > to ? to : date;
}

