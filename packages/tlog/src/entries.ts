import { createHash } from 'node:crypto';
import { canonicalJson } from '@sigil/manifest';
import { TlogError } from './errors.js';
import { type Hash, hashLeaf } from './hash.js';
import { strictBase64 } from './note.js';
import { MAX_ENTRY_SIZE } from './tiles.js';

/**
 * Rekor v2 log entry bodies (sigstore/rekor-tiles, protobuf `dev.sigstore.rekor.v2.Entry`): the
 * protobuf JSON of the entry, canonicalised with RFC 8785. That text is the entry's
 * `canonicalizedBody` in a bundle; its RFC 6962 leaf hash is the tree leaf.
 *
 * Two forms for a DSSE envelope:
 * - `hashedrekord` 0.0.2 over the DSSE pre-authentication encoding (PAE): what Rekor v2 writes
 *   since it dropped `dsse` (rekor-tiles #744, June 2026). @sigstore/verify checks it from 4.1.0.
 * - `dsse` 0.0.2 (payload hash, signatures with their verifiers): what @sigstore/verify 3.1.x
 *   (the Node 20 line) checks for DSSE; 3.1.x compares a hashedrekord digest with the hash of
 *   the payload, not of the PAE, so it refuses the first form.
 */

/** Key types an entry may name (protobuf `PublicKeyDetails`). */
export const KEY_DETAILS = ['PKIX_ECDSA_P256_SHA_256', 'PKIX_ECDSA_P384_SHA_384', 'PKIX_ECDSA_P521_SHA_512', 'PKIX_ED25519', 'PKIX_ED25519_PH'] as const;
export type KeyDetails = (typeof KEY_DETAILS)[number];

/** Who signed: a public key (SPKI DER) or an X.509 certificate (DER), and the key type. */
export type EntryVerifier =
  | { readonly publicKey: Uint8Array; readonly keyDetails: KeyDetails }
  | { readonly certificate: Uint8Array; readonly keyDetails: KeyDetails };

/** The parts of a DSSE envelope an entry depends on; `sig` bytes as signed, not base64. */
export interface DsseEnvelopeInput {
  readonly payloadType: string;
  readonly payload: Uint8Array;
  readonly signatures: readonly { readonly sig: Uint8Array }[];
}

/** An entry body as logged: its JSON form, the canonical bytes, and the leaf hash of those bytes. */
export interface EntryBody {
  readonly kind: 'hashedrekord' | 'dsse';
  readonly apiVersion: '0.0.2';
  /** RFC 8785 UTF-8 bytes: the bundle's `canonicalizedBody`, and what entry bundles carry. */
  readonly bytes: Uint8Array;
  readonly leafHash: Hash;
  /** The signatures the entry records, with their verifiers (one for hashedrekord). */
  readonly signatures: readonly { readonly content: Uint8Array; readonly verifier: EntryVerifier }[];
  /** hashedrekord: SHA-256 of the signed bytes (the PAE). dsse: SHA-256 of the payload. */
  readonly digest: Uint8Array;
}

/** rekor-tiles' bound on DSSE signatures and verifiers per entry. */
export const MAX_DSSE_SIGNATURES = 10;
const MAX_PAYLOAD_TYPE = 256;

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const sha256 = (bytes: Uint8Array): Uint8Array => createHash('sha256').update(bytes).digest();

function invalid(why: string): never {
  throw new TlogError('ENTRY_INVALID', why);
}

/**
 * DSSE v1 pre-authentication encoding: `DSSEv1 <len(type)> <type> <len(body)> <body>`, lengths
 * in ASCII decimal bytes. It is what a DSSE signature signs.
 * @example preAuthEncoding('application/vnd.in-toto+json', payload)
 */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

function checkEnvelope(envelope: DsseEnvelopeInput): void {
  if (typeof envelope.payloadType !== 'string' || envelope.payloadType.length === 0 || envelope.payloadType.length > MAX_PAYLOAD_TYPE) invalid('the DSSE payload type is empty or too long');
  if (!(envelope.payload instanceof Uint8Array)) invalid('the DSSE payload is not bytes');
  if (envelope.signatures.length < 1 || envelope.signatures.length > MAX_DSSE_SIGNATURES) invalid(`a DSSE envelope carries 1..${MAX_DSSE_SIGNATURES} signatures`);
  for (const s of envelope.signatures) if (!(s.sig instanceof Uint8Array) || s.sig.length === 0) invalid('a DSSE signature is empty');
}

function verifierJson(v: EntryVerifier): Record<string, unknown> {
  if (!(KEY_DETAILS as readonly string[]).includes(v.keyDetails)) invalid(`key type ${String(v.keyDetails)} is not supported`);
  if ('publicKey' in v) {
    if (!(v.publicKey instanceof Uint8Array) || v.publicKey.length === 0) invalid('the verifier public key is empty');
    return { publicKey: { rawBytes: b64(v.publicKey) }, keyDetails: v.keyDetails };
  }
  if (!(v.certificate instanceof Uint8Array) || v.certificate.length === 0) invalid('the verifier certificate is empty');
  return { x509Certificate: { rawBytes: b64(v.certificate) }, keyDetails: v.keyDetails };
}

function finish(kind: EntryBody['kind'], spec: Record<string, unknown>, rest: Omit<EntryBody, 'kind' | 'apiVersion' | 'bytes' | 'leafHash'>): EntryBody {
  const bytes = Buffer.from(canonicalJson({ apiVersion: '0.0.2', kind, spec }), 'utf8');
  if (bytes.length > MAX_ENTRY_SIZE) invalid(`the entry body is ${bytes.length} bytes, more than ${MAX_ENTRY_SIZE}`);
  return { kind, apiVersion: '0.0.2', bytes, leafHash: hashLeaf(bytes), ...rest };
}

/**
 * A Rekor v2 `hashedrekord` 0.0.2 entry for a DSSE envelope with one signature: the digest is
 * SHA-256 of the PAE (the bytes the signature covers), with the signature and its verifier.
 * SHA-256 keys only (ECDSA P-256), as rekor-tiles requires the digest to match the key's hash.
 * @throws TlogError `ENTRY_INVALID`
 * @example hashedRekordEntry({ envelope, verifier: { certificate: der, keyDetails: 'PKIX_ECDSA_P256_SHA_256' } })
 */
export function hashedRekordEntry(input: { envelope: DsseEnvelopeInput; verifier: EntryVerifier }): EntryBody {
  const { envelope, verifier } = input;
  checkEnvelope(envelope);
  if (envelope.signatures.length !== 1) invalid('a hashedrekord entry records exactly one signature');
  return hashedRekordEntryForDigest({ digest: sha256(preAuthEncoding(envelope.payloadType, envelope.payload)), signature: envelope.signatures[0]!.sig, verifier });
}

/**
 * A `hashedrekord` 0.0.2 entry for a signature over bytes whose SHA-256 is `digest` (for a DSSE
 * envelope, the PAE: use {@link hashedRekordEntry}).
 * @throws TlogError `ENTRY_INVALID`
 */
export function hashedRekordEntryForDigest(input: { digest: Uint8Array; signature: Uint8Array; verifier: EntryVerifier }): EntryBody {
  const { digest, signature, verifier } = input;
  if (!(digest instanceof Uint8Array) || digest.length !== 32) invalid('a hashedrekord digest is 32 bytes (SHA-256)');
  if (!(signature instanceof Uint8Array) || signature.length === 0) invalid('the signature is empty');
  if (verifier.keyDetails !== 'PKIX_ECDSA_P256_SHA_256') invalid(`a hashedrekord entry needs a SHA-256 key, not ${String(verifier.keyDetails)}`);
  const spec = {
    hashedRekordV002: {
      data: { algorithm: 'SHA2_256', digest: b64(digest) },
      signature: { content: b64(signature), verifier: verifierJson(verifier) },
    },
  };
  return finish('hashedrekord', spec, { digest, signatures: [{ content: signature, verifier }] });
}

/**
 * A `dsse` 0.0.2 entry: SHA-256 of the payload, and each signature with its verifier
 * (`verifiers[i]` verifies `envelope.signatures[i]`), sorted by signature bytes as rekor-tiles
 * did, so the same envelope always gives the same leaf.
 * @throws TlogError `ENTRY_INVALID`
 */
export function dsseEntry(input: { envelope: DsseEnvelopeInput; verifiers: readonly EntryVerifier[] }): EntryBody {
  const { envelope, verifiers } = input;
  checkEnvelope(envelope);
  if (verifiers.length !== envelope.signatures.length) invalid('each DSSE signature needs exactly one verifier');
  const pairs = envelope.signatures.map((s, i) => ({ content: s.sig, verifier: verifiers[i]! }));
  pairs.sort((a, b) => Buffer.compare(a.content, b.content));
  for (let i = 1; i < pairs.length; i++) if (Buffer.compare(pairs[i - 1]!.content, pairs[i]!.content) === 0) invalid('a DSSE signature appears twice');
  const digest = sha256(envelope.payload);
  const spec = {
    dsseV002: {
      payloadHash: { algorithm: 'SHA2_256', digest: b64(digest) },
      signatures: pairs.map((p) => ({ content: b64(p.content), verifier: verifierJson(p.verifier) })),
    },
  };
  return finish('dsse', spec, { digest, signatures: pairs });
}

type Json = Record<string, unknown>;

function object(value: unknown, keys: readonly string[], what: string, optional: readonly string[] = []): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(`${what} is not an object`);
  const o = value as Json;
  for (const k of Object.keys(o)) if (!keys.includes(k) && !optional.includes(k)) invalid(`${what} has an unexpected field ${JSON.stringify(k)}`);
  for (const k of keys) if (!(k in o)) invalid(`${what} lacks ${k}`);
  return o;
}

function bytesField(value: unknown, what: string): Uint8Array {
  const bytes = typeof value === 'string' ? strictBase64(value) : undefined;
  if (!bytes) invalid(`${what} is not canonical base64`);
  return bytes;
}

function parseVerifier(value: unknown, what: string): EntryVerifier {
  const o = object(value, ['keyDetails'], what, ['publicKey', 'x509Certificate']);
  const keyDetails = o.keyDetails;
  if (typeof keyDetails !== 'string' || !(KEY_DETAILS as readonly string[]).includes(keyDetails)) invalid(`${what}.keyDetails is not a supported key type`);
  const kd = keyDetails as KeyDetails;
  if (('publicKey' in o) === ('x509Certificate' in o)) invalid(`${what} needs exactly one of publicKey and x509Certificate`);
  if ('publicKey' in o) return { publicKey: bytesField(object(o.publicKey, ['rawBytes'], `${what}.publicKey`).rawBytes, `${what}.publicKey.rawBytes`), keyDetails: kd };
  return { certificate: bytesField(object(o.x509Certificate, ['rawBytes'], `${what}.x509Certificate`).rawBytes, `${what}.x509Certificate.rawBytes`), keyDetails: kd };
}

function parseHash(value: unknown, what: string): Uint8Array {
  const o = object(value, ['algorithm', 'digest'], what);
  if (o.algorithm !== 'SHA2_256') invalid(`${what}.algorithm is not SHA2_256`);
  const digest = bytesField(o.digest, `${what}.digest`);
  if (digest.length !== 32) invalid(`${what}.digest is not 32 bytes`);
  return digest;
}

/**
 * Parses a logged entry body strictly: one of the two forms above, in RFC 8785 canonical form
 * exactly (so one entry has one leaf), every byte field canonical base64, no unknown field.
 * What a monitor or `sigil log verify` reads from entry bundles.
 * @throws TlogError `ENTRY_INVALID`
 */
export function parseEntryBody(bytes: Uint8Array): EntryBody {
  if (bytes.length > MAX_ENTRY_SIZE) invalid(`the entry body is larger than ${MAX_ENTRY_SIZE} bytes`);
  let text: string;
  let value: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    value = JSON.parse(text);
  } catch (cause) {
    throw new TlogError('ENTRY_INVALID', 'the entry body is not UTF-8 JSON', { cause });
  }
  let canonical: string;
  try {
    canonical = canonicalJson(value);
  } catch (cause) {
    throw new TlogError('ENTRY_INVALID', 'the entry body has no RFC 8785 canonical form', { cause });
  }
  if (canonical !== text) invalid('the entry body is not in RFC 8785 canonical form');
  const top = object(value, ['apiVersion', 'kind', 'spec'], 'the entry');
  if (top.apiVersion !== '0.0.2') invalid('the entry apiVersion is not 0.0.2');
  const leafHash = hashLeaf(bytes);
  if (top.kind === 'hashedrekord') {
    const spec = object(object(top.spec, ['hashedRekordV002'], 'spec').hashedRekordV002, ['data', 'signature'], 'spec.hashedRekordV002');
    const digest = parseHash(spec.data, 'data');
    const sig = object(spec.signature, ['content', 'verifier'], 'signature');
    const signatures = [{ content: bytesField(sig.content, 'signature.content'), verifier: parseVerifier(sig.verifier, 'signature.verifier') }];
    return { kind: 'hashedrekord', apiVersion: '0.0.2', bytes, leafHash, digest, signatures };
  }
  if (top.kind === 'dsse') {
    const spec = object(object(top.spec, ['dsseV002'], 'spec').dsseV002, ['payloadHash', 'signatures'], 'spec.dsseV002');
    const digest = parseHash(spec.payloadHash, 'payloadHash');
    if (!Array.isArray(spec.signatures) || spec.signatures.length < 1 || spec.signatures.length > MAX_DSSE_SIGNATURES) invalid(`signatures is not a list of 1..${MAX_DSSE_SIGNATURES}`);
    const signatures = spec.signatures.map((s: unknown, i: number) => {
      const o = object(s, ['content', 'verifier'], `signatures[${i}]`);
      return { content: bytesField(o.content, `signatures[${i}].content`), verifier: parseVerifier(o.verifier, `signatures[${i}].verifier`) };
    });
    return { kind: 'dsse', apiVersion: '0.0.2', bytes, leafHash, digest, signatures };
  }
  return invalid('the entry kind is neither hashedrekord nor dsse');
}

/**
 * Checks that a logged entry is the one for this DSSE envelope: same signature bytes (the
 * first, as Sigstore bundles carry one) and the digest of the same signed bytes. Without this a
 * relay could attach a valid inclusion proof for some other entry.
 * @throws TlogError `ENTRY_MISMATCH`
 */
export function checkEntryForEnvelope(entry: EntryBody, envelope: DsseEnvelopeInput): void {
  const sig = envelope.signatures[0]?.sig;
  if (!sig || !entry.signatures.some((s) => Buffer.compare(s.content, sig) === 0)) {
    throw new TlogError('ENTRY_MISMATCH', 'the log entry records another signature than the envelope carries');
  }
  const expected = entry.kind === 'hashedrekord' ? sha256(preAuthEncoding(envelope.payloadType, envelope.payload)) : sha256(envelope.payload);
  if (Buffer.compare(Buffer.from(expected), Buffer.from(entry.digest)) !== 0) {
    throw new TlogError('ENTRY_MISMATCH', 'the log entry records the digest of another payload than the envelope carries');
  }
}
