import { createHash, hash, type KeyObject } from 'node:crypto';
import { assertBundleLatest, bundleFromJSON, type Bundle, type BundleWithDsseEnvelope } from '@sigstore/bundle';
import type { ASN1Obj, RFC3161Timestamp, X509Certificate } from '@sigstore/core';
import { crypto as sigstoreCrypto, dsse } from '@sigstore/core';
import { PolicyError, toSignedEntity, VerificationError, Verifier, type SignedEntity } from '@sigstore/verify';
import { canonicalJson } from '@sigil/manifest';
import { SigningError } from '../errors.js';
import { publicKeyFingerprint, spkiKey } from '../keys.js';
import { STATEMENT_LIMITS } from '../statements.js';
import type { VerificationCache } from './cache.js';
import type { DeferredSignatures } from './deferred.js';
import type { VerifiedEnvelope, VerifiedSigner } from './types.js';
import { verifyLogEntries } from './log.js';
import { exactIdentityPattern } from './policy.js';
import { perCertificate, sharedCertificate } from './x509-memo.js';
import type { CompiledTrust, TrustedCa } from './trust.js';

/** String.prototype.isWellFormed (ES2024, Node 20+): false exactly when a lone surrogate is in it. */
type WellFormedString = string & { isWellFormed(): boolean };

/** Media types of a Sigstore bundle v0.3, the only version we accept for our own attestations. */
export const BUNDLE_V03_MEDIA_TYPES: readonly string[] = ['application/vnd.dev.sigstore.bundle.v0.3+json', 'application/vnd.dev.sigstore.bundle+json;version=0.3'];

/** A bundle as received: its exact bytes or text (preferred), or already-parsed JSON. */
export type BundleInput = string | Uint8Array | Record<string, unknown>;

/**
 * Verifies a DSSE bundle against compiled trust, in named steps, each failing with its own code:
 * read (bounded) → shape (v0.3, one DSSE signature) → payload type → Sigstore verification
 * (timestamps, key or chain at the timestamp, signature) → signer allowed by the policy.
 */
export function verifyEnvelopeBundle(input: BundleInput, trust: CompiledTrust, payloadType: string, cache?: VerificationCache, deferred?: DeferredSignatures): VerifiedEnvelope {
  return verifyEnvelopeBundleJson(input, trust, payloadType, cache, deferred).verified;
}

/**
 * {@link verifyEnvelopeBundle}, also giving the bundle's JSON as parsed from the very bytes
 * verified (the input itself when it was parsed JSON), so a caller keeping the bundle does not
 * parse its text again. With `deferred`, a kept result's signature check is queued there and the
 * result is provisional until it settles (see {@link DeferredSignatures}).
 */
export function verifyEnvelopeBundleJson(input: BundleInput, trust: CompiledTrust, payloadType: string, cache?: VerificationCache, deferred?: DeferredSignatures): { verified: VerifiedEnvelope; json: unknown } {
  const { json, digest } = readBundle(input);
  // Keyed by the verifier's version too: a check added later is never skipped by an older result.
  const key = `${VERIFIER_VERSION}:${trust.id}:${digest}`;
  const hit = cache?.lookup(key);
  let verified: VerifiedEnvelope | undefined;
  // The digest a result states is returned as the bundle's (an approval's digest, counted against
  // the lock and the signed status): one read from disk must state the digest it is keyed by. A
  // result this host vouches for (verified in this process, or sealed under its key: see
  // VerificationCache) is this verifier's own answer for these very bytes, whose shape it checked
  // then: only the payload is compared with the bundle's own. Any other is re-checked.
  if (hit && hit.value.bundleDigest === digest) {
    if (hit.vouched ? sameJsonPayload(json, hit.value) : recheckCached(checkShape(json), hit.value, trust, deferred)) verified = hit.value;
  }
  if (!verified) {
    verified = verifyCrypto(checkShape(json), trust, digest, json);
    cache?.set(key, verified);
  }
  if (verified.payloadType !== payloadType) {
    throw new SigningError('STATEMENT_INVALID', `the DSSE payload type is ${JSON.stringify(verified.payloadType.slice(0, 100))}, expected ${payloadType}`);
  }
  checkSignerAllowed(verified.signer, trust);
  return { verified, json };
}

/**
 * Version of this verification pipeline, part of every cache key: bump it whenever a check is
 * added or changed, so results kept by an older verifier are never reused.
 */
// 4: a certificate signer's CA is the one whose key signed its leaf, never one only named as its
// issuer (a result sealed by version 3 may credit a CA by name).
export const VERIFIER_VERSION = 'sigil-verify-4';

/**
 * A cached result (possibly read from disk, so possibly forged) saves only the timestamp check.
 * The payload is the bundle's own and must equal the cached one; the signature over it is
 * verified again with the key the result names (from the policy, or the bundle's own leaf
 * certificate, whose key fingerprint and identity must match the result). A leaf must also be a
 * signing certificate issued by the very CA of the trusted root the result names, and be valid at
 * the time the result names (checked once per certificate and process, so nearly free: a planted
 * result cannot vouch for a certificate from another CA). Any doubt is a miss. With `deferred`,
 * the signature check, last, and the CA's signature over a leaf not yet checked in this process
 * are queued there instead of run here: true then means every other check held and the result
 * stands only if those queued checks verify.
 */
function recheckCached(bundle: BundleWithDsseEnvelope, cached: VerifiedEnvelope, trust: CompiledTrust, deferred?: DeferredSignatures): boolean {
  // The root's certificates, parsed on first read: a root whose certificates do not parse is
  // refused (POLICY_INVALID) here as by a full verification, whoever signed (a key-signed result's
  // re-check uses none of them). A vouched result needs no such read: it was verified under this
  // very root, whose certificates parsed then.
  void trust.material;
  if (!samePayload(bundle, cached)) return false;
  const envelope = bundle.content.dsseEnvelope;
  const signature = envelope.signatures[0]?.sig;
  const material = bundle.verificationMaterial.content;
  if (!signature) return false;
  try {
    let key: KeyObject | undefined;
    if (cached.signer.kind === 'key') {
      if (material.$case !== 'publicKey') return false;
      key = trust.keys.get(cached.signer.keyFingerprint);
    } else {
      const raw = leafBytes(bundle);
      if (!raw) return false;
      const leaf = sharedCertificate(raw);
      if (leafSpkiFingerprint(leaf) !== cached.signer.keyFingerprint || leafIdentity(leaf) !== cached.signer.identity) return false;
      const ca = deferred ? leafIssuerDeferred(leaf, trust, deferred) : leafIssuer(leaf, trust);
      const signedAt = new Date(cached.signer.signedAt);
      if (!ca || ca.fingerprints.join() !== cached.signer.caChain.join() || ca.fingerprints[0] !== cached.signer.ca || !leaf.validForDate(signedAt)) return false;
      key = leafKey(leaf);
    }
    if (key === undefined) return false;
    const signed = dsse.preAuthEncoding(envelope.payloadType, envelope.payload);
    if (deferred) {
      deferred.add(signed, key, signature);
      return true;
    }
    return sigstoreCrypto.verify(signed, key, signature);
  } catch {
    return false;
  }
}

/**
 * The bundle's JSON carries the result's payload type and payload (base64, decoded strictly
 * enough: the text must be the canonical base64 of the result's payload). Used for a vouched
 * result, whose bundle bytes, and so whose JSON, are the very ones verified.
 */
function sameJsonPayload(json: unknown, cached: VerifiedEnvelope): boolean {
  const envelope = (json as { dsseEnvelope?: { payload?: unknown; payloadType?: unknown } } | null)?.dsseEnvelope;
  return typeof envelope === 'object' && envelope !== null && envelope.payloadType === cached.payloadType && typeof envelope.payload === 'string' && envelope.payload === cached.payload.toString('base64');
}

/** The bundle's own payload and payload type are the result's (compared in place: a view of the decoded payload, not a copy). */
function samePayload(bundle: BundleWithDsseEnvelope, cached: VerifiedEnvelope): boolean {
  const envelope = bundle.content.dsseEnvelope;
  const payload = envelope.payload;
  return envelope.payloadType === cached.payloadType && Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).equals(cached.payload);
}

/** `SHA256:<base64>` of the leaf's SPKI DER bytes: the same as publicKeyFingerprint, without a key export. */
const leafSpkiFingerprint = perCertificate((leaf) => `SHA256:${createHash('sha256').update(leaf.publicKey).digest('base64').replace(/=+$/, '')}`);

/** Public keys of leaf certificates (a host re-checks many bundles by few signers). */
const leafKey = perCertificate((leaf): KeyObject => spkiKey(leaf.publicKey));

const leafIssuers = new WeakMap<X509Certificate, Map<string, TrustedCa | undefined>>();
/** The CA of `trust` whose key signed this shared leaf, once per leaf and trust material. */
function leafIssuer(leaf: X509Certificate, trust: CompiledTrust): TrustedCa | undefined {
  let byTrust = leafIssuers.get(leaf);
  if (!byTrust) leafIssuers.set(leaf, (byTrust = new Map()));
  if (!byTrust.has(trust.id)) byTrust.set(trust.id, issuingCa(leaf, trust.cas));
  return byTrust.get(trust.id);
}

const issuerChecks = new WeakMap<X509Certificate, Map<string, { ca: TrustedCa; check: Promise<boolean> }>>();
/**
 * {@link leafIssuer} with its signature check queued in `deferred` (the kept-result path): the
 * one CA of `trust` whose subject is the leaf's issuer, provisional until the check of the CA's
 * signature over the leaf settles. A leaf signs many bundles: its check is queued once per trust
 * material and every bundle relying on it makes it its own (`rely`), so a failed check fails each
 * of them, and they are judged again without deferral, where {@link leafIssuer} decides. A known
 * answer, or several same-named CAs, take the synchronous path.
 */
function leafIssuerDeferred(leaf: X509Certificate, trust: CompiledTrust, deferred: DeferredSignatures): TrustedCa | undefined {
  if (leafIssuers.get(leaf)?.has(trust.id)) return leafIssuer(leaf, trust);
  let byTrust = issuerChecks.get(leaf);
  if (!byTrust) issuerChecks.set(leaf, (byTrust = new Map()));
  const queued = byTrust.get(trust.id);
  if (queued) {
    deferred.rely(queued.check);
    return queued.ca;
  }
  const candidates = trust.cas.filter((ca) => ca.subjectDer.equals(leaf.issuer));
  if (candidates.length !== 1) return leafIssuer(leaf, trust);
  const ca = candidates[0]!;
  const check = deferred.add(leaf.tbsCertificate.toDER(), issuerKeyObject(ca), leaf.signatureValue, leaf.signatureAlgorithm);
  byTrust.set(trust.id, { ca, check });
  return ca;
}

/** The leaf certificate's bytes as the bundle carries them (v0.3: one certificate; older: a chain, leaf first). */
function leafBytes(bundle: BundleWithDsseEnvelope): Uint8Array | undefined {
  const material = bundle.verificationMaterial.content;
  return material.$case === 'certificate' ? material.certificate.rawBytes : material.$case === 'x509CertificateChain' ? material.x509CertificateChain.certificates[0]?.rawBytes : undefined;
}

/** Step 1: the bundle's bytes, bounded, parsed as JSON; and its digest. */
export function readBundle(input: BundleInput): { json: unknown; digest: string } {
  // A text without a lone surrogate is parsed as it is and hashed as its UTF-8 bytes (what
  // `crypto.hash` does with a string): the same JSON and digest as through a Buffer of it, without
  // the Buffer and its decoding back to a second string (a host reads two bundles per locked
  // server from the text of its stored record). A lone surrogate, which UTF-8 cannot hold, goes
  // through the bytes as before (it becomes U+FFFD there).
  if (typeof input === 'string' && (input as WellFormedString).isWellFormed()) {
    if (Buffer.byteLength(input, 'utf8') > STATEMENT_LIMITS.bundleBytes) throw new SigningError('BUNDLE_INVALID', `the bundle is larger than ${STATEMENT_LIMITS.bundleBytes} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(input);
    } catch (cause) {
      throw new SigningError('BUNDLE_INVALID', 'the bundle is not JSON (malformed or truncated)', { cause });
    }
    return { json, digest: `sha256:${hash('sha256', input, 'hex')}` };
  }
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    if (bytes.length > STATEMENT_LIMITS.bundleBytes) throw new SigningError('BUNDLE_INVALID', `the bundle is larger than ${STATEMENT_LIMITS.bundleBytes} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch (cause) {
      throw new SigningError('BUNDLE_INVALID', 'the bundle is not JSON (malformed or truncated)', { cause });
    }
    return { json, digest: `sha256:${hash('sha256', bytes, 'hex')}` };
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new SigningError('BUNDLE_INVALID', 'the bundle is not a JSON object');
  let text: string;
  try {
    text = canonicalJson(input);
  } catch (cause) {
    throw new SigningError('BUNDLE_INVALID', 'the bundle is not JSON data', { cause });
  }
  if (text.length > STATEMENT_LIMITS.bundleBytes) throw new SigningError('BUNDLE_INVALID', `the bundle is larger than ${STATEMENT_LIMITS.bundleBytes} bytes`);
  return { json: input, digest: `sha256:${hash('sha256', text, 'hex')}` };
}

/** Step 2: a v0.3 bundle holding one DSSE envelope with exactly one signature. */
function checkShape(json: unknown): BundleWithDsseEnvelope {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new SigningError('BUNDLE_INVALID', 'the bundle is not a JSON object');
  const raw = json as { mediaType?: unknown; dsseEnvelope?: { signatures?: unknown } };
  if (typeof raw.mediaType !== 'string' || !BUNDLE_V03_MEDIA_TYPES.includes(raw.mediaType)) {
    throw new SigningError('BUNDLE_INVALID', `the bundle media type is not Sigstore bundle v0.3 (${JSON.stringify(String(raw.mediaType).slice(0, 100))})`);
  }
  if (typeof raw.dsseEnvelope !== 'object' || raw.dsseEnvelope === null) throw new SigningError('BUNDLE_INVALID', 'the bundle holds no DSSE envelope');
  const signatures = raw.dsseEnvelope.signatures;
  if (!Array.isArray(signatures) || signatures.length === 0) throw new SigningError('UNSIGNED', 'the DSSE envelope carries no signature');
  // DSSE allows several signatures; @sigstore/verify checks only the first. One, or refuse.
  if (signatures.length !== 1) throw new SigningError('SIGNATURE_INVALID', `the DSSE envelope carries ${signatures.length} signatures; exactly one is accepted`);
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
    assertBundleLatest(bundle);
  } catch (cause) {
    throw new SigningError('BUNDLE_INVALID', `the bundle is not a valid Sigstore bundle: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
  if (bundle.content.$case !== 'dsseEnvelope') throw new SigningError('BUNDLE_INVALID', 'the bundle holds no DSSE envelope');
  if (bundle.content.dsseEnvelope.payload.length > STATEMENT_LIMITS.payloadBytes) {
    throw new SigningError('BUNDLE_INVALID', `the DSSE payload is larger than ${STATEMENT_LIMITS.payloadBytes} bytes`);
  }
  return bundle as BundleWithDsseEnvelope;
}

/** Step 3: timestamps, the signing key or certificate chain at the timestamp, then the signature. */
function verifyCrypto(bundle: BundleWithDsseEnvelope, trust: CompiledTrust, bundleDigest: string, json: unknown): VerifiedEnvelope {
  // A trusted root that lists no log Sigil checks (one pinned before the registry had its log, or
  // a key-only policy) can neither check nor count log entries: they are ignored, and the bundle
  // is verified exactly as one without them (signature, key or chain, RFC 3161 timestamp). The
  // entries add evidence only for a host whose root lists the log; they never replace a check.
  if (trust.logs.length === 0 && bundle.verificationMaterial.tlogEntries.length > 0) {
    bundle = { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [] } };
  }
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle);
  } catch (cause) {
    throw new SigningError('BUNDLE_INVALID', 'the bundle holds a certificate or timestamp that does not parse', { cause });
  }
  // One instance per distinct certificate in this process: its chain is checked once, however
  // many bundles it signed (x509-memo.ts); every bundle still goes through every check.
  const raw = entity.key.$case === 'certificate' ? leafBytes(bundle) : undefined;
  if (raw) entity = { ...entity, key: { $case: 'certificate', certificate: sharedCertificate(raw) } };
  const envelope = bundle.content.dsseEnvelope;
  const base = { payload: envelope.payload, payloadType: envelope.payloadType, bundleDigest };
  // Transparency log entries count only against a trusted root that lists their log: each is
  // checked by @sigil/tlog first (checkpoint signature, inclusion proof, entry of this very
  // signature), then again by the stock verifier, which checks every entry whatever the threshold.
  const rawEntries = (json as { verificationMaterial?: { tlogEntries?: unknown } }).verificationMaterial?.tlogEntries;
  const logged = Array.isArray(rawEntries) && rawEntries.length > 0 && trust.logs.length > 0 ? verifyLogEntries(rawEntries, trust.logs, envelope) : [];
  const log = logged.length > 0 ? { log: logged } : {};

  if (entity.key.$case === 'public-key') {
    runVerifier(entity, trust, { timestampThreshold: 0 });
    const hint = entity.key.hint;
    // The verifier found the key under this hint in trust.keys, whose keys are publicKeyFingerprint values.
    return { ...base, ...log, signer: { kind: 'key', keyFingerprint: hint } };
  }

  // @sigstore/verify throws a TypeError on a certificate bundle without a timestamp (no time to
  // judge the chain at): refuse it first, with our code.
  const timestamps = entity.timestamps.filter((t) => t.$case === 'timestamp-authority');
  if (timestamps.length === 0) {
    throw new SigningError('TIMESTAMP_INVALID', 'a certificate-signed bundle must carry an RFC 3161 timestamp from a trusted TSA');
  }
  const leaf = entity.key.certificate;
  const identity = leafIdentity(leaf);
  const allowed = trust.identities.find((i) => i.identity === identity);
  // Timestamps first: with timestampThreshold 1 the chain is judged at the TSA's time, so an
  // expired short-lived leaf still verifies when it was valid when it signed.
  runVerifier(entity, trust, { timestampThreshold: 1 }, leaf, allowed ? exactIdentityPattern(bareSan(identity)) : undefined);
  // The CA whose key signed the leaf, checked, never only the one named as its issuer: the stock
  // verifier accepts a chain through any trusted certificate, and another CA of the root may
  // bear this CA's name (one of its roots, say), so a name alone would credit this CA with a
  // leaf the other issued (and pass identities pinned to it). Once per leaf and trust material.
  const ca = leafIssuer(leaf, trust);
  if (!ca) throw new SigningError('SIGNER_UNTRUSTED', 'the certificate was not issued by a CA of the trusted root');
  const signedAt = timestamps
    .map((t) => (t.$case === 'timestamp-authority' ? (t.timestamp as RFC3161Timestamp).signingTime : new Date(0)))
    .sort((a, b) => a.getTime() - b.getTime())[0]!;
  return {
    ...base,
    ...log,
    signer: {
      kind: 'certificate',
      identity,
      keyFingerprint: leafFingerprint(leaf),
      ca: ca.fingerprints[0]!,
      caChain: ca.fingerprints,
      signedAt: signedAt.toISOString(),
    },
  };
}

function runVerifier(entity: SignedEntity, trust: CompiledTrust, options: { timestampThreshold: number }, leaf?: X509Certificate, sanPattern?: string): void {
  try {
    new Verifier(trust.material, { tlogThreshold: 0, ctlogThreshold: 0, ...options }).verify(entity, sanPattern ? { subjectAlternativeName: sanPattern } : undefined);
  } catch (cause) {
    throw mapVerifierError(cause, trust, leaf);
  }
}

/** Maps what @sigstore/verify throws to our codes; anything unexpected (a TypeError) is a refusal, never a pass. */
function mapVerifierError(cause: unknown, trust: CompiledTrust, leaf?: X509Certificate): SigningError {
  if (cause instanceof SigningError) return cause;
  if (cause instanceof PolicyError) return new SigningError('SIGNER_UNTRUSTED', `the signer is not allowed: ${cause.message}`, { cause });
  if (cause instanceof VerificationError) {
    switch (cause.code) {
      case 'TIMESTAMP_ERROR':
        return new SigningError('TIMESTAMP_INVALID', `the timestamp does not verify against a trusted TSA: ${cause.message}`, { cause });
      case 'PUBLIC_KEY_ERROR':
        return new SigningError('SIGNER_UNTRUSTED', `the signing key is not trusted: ${cause.message}`, { cause });
      case 'CERTIFICATE_ERROR':
        // Either no trusted CA issued the leaf, or one did and the leaf (or its CA) was not valid
        // at the timestamp.
        if (leaf && issuingCa(leaf, trust.cas)) {
          return new SigningError('TIMESTAMP_INVALID', 'the certificate was not valid at the time of its timestamp (expired or not yet valid)', { cause });
        }
        return new SigningError('SIGNER_UNTRUSTED', 'the certificate does not chain to a CA of the trusted root', { cause });
      case 'SIGNATURE_ERROR':
        return new SigningError('SIGNATURE_INVALID', 'the signature does not verify', { cause });
      case 'TLOG_ERROR':
      case 'TLOG_BODY_ERROR':
      case 'TLOG_INCLUSION_PROOF_ERROR':
      case 'TLOG_INCLUSION_PROMISE_ERROR':
      case 'TLOG_MISSING_INCLUSION_ERROR':
        return new SigningError('LOG_ENTRY_INVALID', `a transparency log entry does not verify: ${cause.message}`, { cause });
      default:
        return new SigningError('SIGNATURE_INVALID', `the bundle does not verify: ${cause.message}`, { cause });
    }
  }
  return new SigningError('SIGNATURE_INVALID', `the bundle does not verify: ${(cause as Error)?.message ?? String(cause)}`, { cause });
}

/** The CA of the trusted root whose issuing certificate signed `leaf`: named as its issuer, and its key verifies the leaf's signature. */
function issuingCa(leaf: X509Certificate, cas: readonly TrustedCa[]): TrustedCa | undefined {
  const candidates = cas.filter((ca) => ca.subjectDer.equals(leaf.issuer));
  return candidates.find((ca) => {
    try {
      return sigstoreCrypto.verify(leaf.tbsCertificate.toDER(), issuerKeyObject(ca), leaf.signatureValue, leaf.signatureAlgorithm);
    } catch {
      return false;
    }
  });
}

const issuerKeys = new WeakMap<TrustedCa, KeyObject>();
/** A CA's public key as a key object, parsed once per compiled CA (every leaf it issued is checked with it). */
function issuerKeyObject(ca: TrustedCa): KeyObject {
  let key = issuerKeys.get(ca);
  if (!key) issuerKeys.set(ca, (key = spkiKey(ca.issuerKey)));
  return key;
}

// The DER content bytes of the object identifiers a leaf is read by.
/** id-kp-codeSigning, 1.3.6.1.5.5.7.3.3 */
const OID_CODE_SIGNING = Buffer.from('2b06010505070303', 'hex');
/** id-ce-basicConstraints, 2.5.29.19 */
const OID_BASIC_CONSTRAINTS = Buffer.from('551d13', 'hex');
/** id-ce-extKeyUsage, 2.5.29.37 */
const OID_EXTENDED_KEY_USAGE = Buffer.from('551d25', 'hex');
/** id-ce-subjectAltName, 2.5.29.17 */
const OID_SUBJECT_ALT_NAME = Buffer.from('551d11', 'hex');

/** The key fingerprint of a shared leaf instance, once per process. */
const leafFingerprint = perCertificate((leaf) => publicKeyFingerprint(leafKey(leaf)));

/** The leaf's identity: exactly one SAN, an email or URI; the leaf is no CA and may sign code. */
const leafIdentity = perCertificate(checkLeafIdentity);

/**
 * Read from the certificate as @sigstore/core parsed it (the tree whose signature by the CA is
 * checked), not through a second parse by OpenSSL, which cost as much as a signature check per
 * leaf, and as strictly as OpenSSL read it: an extension present twice (RFC 5280 4.2 forbids it,
 * and parsers differ on which one counts) is refused, basicConstraints' cA must be absent or
 * false, and the extended key usage must list codeSigning.
 * @internal exported for its test (leaf.test.ts)
 */
export function checkLeafIdentity(leaf: X509Certificate): string {
  let ca: boolean;
  let codeSigning: boolean;
  let names: ASN1Obj[];
  try {
    const values = new Map<string, ASN1Obj>();
    for (const extension of leafExtensions(leaf)) {
      // Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE,
      // extnValue OCTET STRING }, and nothing else.
      const [id, middle, last] = extension.subs;
      const shape = extension.subs.length === 2 ? middle : extension.subs.length === 3 && middle!.tag.isBoolean() ? last : undefined;
      if (!isSequence(extension) || !id?.tag.isOID() || !minimalOid(id.value) || shape === undefined || !shape.tag.isOctetString() || shape.tag.constructed) {
        throw new SigningError('CERTIFICATE_INVALID', 'the signing certificate has an extension that is not an identifier, an optional critical flag and a value');
      }
      // Compared as their DER content bytes (minimal, so one identifier has one form), not decoded to dotted text.
      const key = id.value.toString('latin1');
      if (values.has(key)) throw new SigningError('CERTIFICATE_INVALID', `the signing certificate carries the extension ${id.toOID()} twice`);
      values.set(key, shape);
    }
    /** The one DER element an extension's OCTET STRING holds (@sigstore/core parsed it as the string's children), a SEQUENCE. */
    const sequence = (oid: Buffer): ASN1Obj | undefined => {
      const value = values.get(oid.toString('latin1'));
      if (value === undefined) return undefined;
      const inner = value.subs[0];
      if (value.subs.length !== 1 || !isSequence(inner)) throw new SigningError('CERTIFICATE_INVALID', "a signing certificate's extension does not parse");
      return inner;
    };
    // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
    const constraints = sequence(OID_BASIC_CONSTRAINTS)?.subs ?? [];
    const [first, second] = constraints;
    const flag = first?.tag.isBoolean() ? first : undefined;
    const pathLength = flag ? second : first;
    if (constraints.length > (flag ? 1 : 0) + (pathLength ? 1 : 0) || (pathLength !== undefined && !pathLength.tag.isInteger())) {
      throw new SigningError('CERTIFICATE_INVALID', "the signing certificate's basic constraints do not parse");
    }
    ca = flag !== undefined && flag.toBoolean();
    // ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId (an OBJECT IDENTIFIER)
    codeSigning = false;
    for (const purpose of sequence(OID_EXTENDED_KEY_USAGE)?.subs ?? []) {
      if (!purpose.tag.isOID() || !minimalOid(purpose.value)) throw new SigningError('CERTIFICATE_INVALID', "the signing certificate's extended key usage lists something that is no identifier");
      if (purpose.value.equals(OID_CODE_SIGNING)) codeSigning = true;
    }
    // SubjectAltName ::= GeneralNames ::= SEQUENCE OF GeneralName
    names = sequence(OID_SUBJECT_ALT_NAME)?.subs ?? [];
  } catch (cause) {
    if (cause instanceof SigningError) throw cause;
    throw new SigningError('CERTIFICATE_INVALID', 'the certificate does not parse', { cause });
  }
  if (ca) throw new SigningError('CERTIFICATE_INVALID', 'the signing certificate is a CA certificate');
  if (!codeSigning) throw new SigningError('CERTIFICATE_INVALID', 'the signing certificate lacks the codeSigning extended key usage');
  return sanIdentity(names);
}

/**
 * The leaf's extensions: TBSCertificate's one `[3]` field, holding one SEQUENCE of them. Several
 * `[3]` fields, or one holding more than the SEQUENCE, are refused (readers differ on which one
 * counts); none gives no extensions.
 */
function leafExtensions(leaf: X509Certificate): ASN1Obj[] {
  const fields = leaf.tbsCertificate.subs.filter((field) => field.tag.isContextSpecific(3));
  if (fields.length === 0) return [];
  const list = fields[0]!.subs[0];
  if (fields.length !== 1 || fields[0]!.subs.length !== 1 || !isSequence(list)) throw new SigningError('CERTIFICATE_INVALID', "the signing certificate's extensions do not parse");
  return list.subs;
}

/** A universal, constructed SEQUENCE (tag number 16). */
function isSequence(node: ASN1Obj | undefined): node is ASN1Obj {
  return node !== undefined && node.tag.isUniversal() && node.tag.constructed && node.tag.number === 0x10;
}

/**
 * An OBJECT IDENTIFIER's content in DER's one form (X.690 8.19.2): not empty, the last byte ends
 * its sub-identifier, and no sub-identifier starts with 0x80 (a padding @sigstore/core reads
 * through and OpenSSL refuses, which would let one identifier pass as another here).
 */
function minimalOid(content: Buffer): boolean {
  if (content.length === 0 || (content[content.length - 1]! & 0x80) !== 0) return false;
  for (let i = 0; i < content.length; i++) if (content[i] === 0x80 && (i === 0 || (content[i - 1]! & 0x80) === 0)) return false;
  return true;
}

/** The leaf's one SAN (its GeneralNames) as an identity: `mailto:<email>` or a URI. */
function sanIdentity(names: ASN1Obj[]): string {
  if (names.length !== 1) throw new SigningError('CERTIFICATE_INVALID', `the signing certificate must carry exactly one SAN, it carries ${names.length}`);
  const name = names[0]!;
  const value = name.value.toString('utf8');
  if (name.tag.isContextSpecific(0x01)) return `mailto:${value}`;
  if (name.tag.isContextSpecific(0x06)) return value;
  throw new SigningError('CERTIFICATE_INVALID', 'the signing certificate SAN is neither an email address nor a URI');
}

function bareSan(identity: string): string {
  return identity.startsWith('mailto:') ? identity.slice('mailto:'.length) : identity;
}

/** Step 4: the verified signer must be one the policy names. */
function checkSignerAllowed(signer: VerifiedSigner, trust: CompiledTrust): void {
  if (signer.kind === 'key') {
    if (!trust.keys.has(signer.keyFingerprint)) throw new SigningError('SIGNER_UNTRUSTED', `the signing key ${signer.keyFingerprint} is not in the policy`);
    return;
  }
  const ok = trust.identities.some((i) => i.identity === signer.identity && (i.ca === undefined || signer.caChain.includes(i.ca)));
  if (!ok) throw new SigningError('SIGNER_UNTRUSTED', `the certificate identity ${JSON.stringify(signer.identity.slice(0, 200))} under CA ${signer.ca} is not allowed by the policy`);
}
