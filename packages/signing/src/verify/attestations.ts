import { boundedText, DIGEST_PATTERN, hasOnlyKeys, isRecordObject, manifestDigest, TIMESTAMP_PATTERN, manifestDigests, serverNameProblem, versionProblem, type Digest, type Manifest } from '@sigil/manifest';
import { z } from 'zod';
import { SigningError, type SigningErrorCode } from '../errors.js';
import { MAX_PEM_BYTES, publicKeyFingerprint } from '../keys.js';
import {
  APPROVAL_PREDICATE_TYPE,
  ApprovalPredicate,
  HEX_PATTERN,
  IN_TOTO_PAYLOAD_TYPE,
  MANIFEST_PREDICATE_TYPE,
  ManifestPredicate,
  SLSA_PROVENANCE_PREDICATE_TYPE,
  Statement,
  STATEMENT_LIMITS,
  STATEMENT_TYPE,
  statementSubject,
  type SubjectRef,
} from '../statements.js';
import { SlsaProvenancePredicate } from '../provenance-predicate.js';
import { verifyEnvelopeBundle, verifyEnvelopeBundleJson, type BundleInput } from './bundle.js';
import type { VerifiedLogEntry } from './log.js';
import type { VerifiedSigner } from './types.js';
import type { VerificationCache } from './cache.js';
import type { DeferredSignatures } from './deferred.js';
import { SignerPolicy, type ProvenancePolicy } from './policy.js';
import { compileTrust } from './trust.js';

/** Options of every verify function. */
export interface VerifyOptions {
  /** Reuse cryptographic results across calls (see {@link VerificationCache}). */
  cache?: VerificationCache;
  /**
   * Queue the signature check of a kept result (a `cache` hit) here instead of running it now
   * (it runs, partly on the thread pool, at `deferred.settle()`): the result is then provisional
   * until that is true (see {@link DeferredSignatures}).
   */
  deferred?: DeferredSignatures;
}

/** A verified statement: what was signed, by whom. */
export interface VerifiedStatement<P> {
  signer: VerifiedSigner;
  statement: Statement;
  predicate: P;
  /** `sha256:<hex>` of the bundle: the approval digest hosts record in lockfiles. */
  bundleDigest: string;
  /** The bundle's transparency log entries that verified against the trusted root's logs, when any. */
  log?: VerifiedLogEntry[];
  /** The bundle as JSON, parsed from the very bytes verified (the input itself when it was parsed JSON). */
  bundle: unknown;
}

/**
 * Verifies a publisher's manifest bundle: signature and signer under `policy`, then that the
 * statement is about exactly this manifest (name, version, canonical digest, tools-set digest).
 * @example
 * const { signer } = verifyManifestBundle(readFileSync('sigil.bundle.json'), manifest, policy);
 * // signer: { kind: 'key', keyFingerprint: 'SHA256:…' }
 * @throws SigningError `BUNDLE_INVALID`, `UNSIGNED`, `SIGNATURE_INVALID`, `SIGNER_UNTRUSTED`,
 * `TIMESTAMP_INVALID`, `CERTIFICATE_INVALID`, `STATEMENT_INVALID`, `NAME_MISMATCH`, `SUBJECT_MISMATCH`
 */
export function verifyManifestBundle(bundle: BundleInput, manifest: Manifest, policy: SignerPolicy, options: VerifyOptions = {}): VerifiedStatement<ManifestPredicate> {
  return verifyManifestSubject(bundle, { name: manifest.name, version: manifest.version, ...manifestDigests(manifest) }, policy, options);
}

/** A manifest as its publisher statement names it: name, version and both digests. */
export interface ManifestSubject extends SubjectRef {
  /** `toolsSetDigest(manifest.tools)`. */
  toolsDigest: Digest;
}

/**
 * {@link verifyManifestBundle} for a caller that already computed the manifest's two digests
 * with `manifestDigests` (a host checks them against its lock first, and hashes each manifest
 * once): the same checks, against the subject given. Its digests must be computed from the
 * manifest the caller will use; the function cannot check that.
 * @example
 * const subject = { name: manifest.name, version: manifest.version, ...manifestDigests(manifest) };
 * const { signer } = verifyManifestSubject(bundle, subject, policy);
 * @throws SigningError as {@link verifyManifestBundle}
 */
export function verifyManifestSubject(bundle: BundleInput, subject: ManifestSubject, policy: SignerPolicy, options: VerifyOptions = {}): VerifiedStatement<ManifestPredicate> {
  const result = verifyAttestation(bundle, subject, policy, MANIFEST_PREDICATE_TYPE, ManifestPredicate, 'STATEMENT_INVALID', options);
  if (result.predicate.name !== subject.name || result.predicate.version !== subject.version) {
    throw new SigningError('NAME_MISMATCH', 'the manifest statement names another server or version than its subject');
  }
  if (result.predicate.toolsDigest !== subject.toolsDigest) {
    throw new SigningError('SUBJECT_MISMATCH', 'the signed tools-set digest is not the digest of the manifest tools');
  }
  return result;
}

/**
 * Verifies a reviewer's approval (or rejection) bundle for one version.
 * @example
 * const { predicate, signer } = verifyApprovalBundle(bundle, { name, version, digest }, reviewers);
 * if (predicate.decision !== 'approved') …
 * @throws SigningError as {@link verifyManifestBundle}
 */
export function verifyApprovalBundle(bundle: BundleInput, subject: SubjectRef, policy: SignerPolicy, options: VerifyOptions = {}): VerifiedStatement<ApprovalPredicate> {
  return verifyAttestation(bundle, subject, policy, APPROVAL_PREDICATE_TYPE, ApprovalPredicate, 'STATEMENT_INVALID', options);
}

/**
 * Verifies SLSA v1 provenance for a manifest: signed by an allowed build signer, built by an
 * allowed builder, from the source repository the manifest names (`repository.url`).
 * @example
 * verifyProvenanceBundle(bundle, manifest, {
 *   signers: buildSigners,
 *   builderIds: ['https://github.com/actions/runner/github-hosted'],
 * });
 * @throws SigningError `PROVENANCE_INVALID`, or as {@link verifyManifestBundle}
 */
export function verifyProvenanceBundle(bundle: BundleInput, manifest: Manifest, policy: ProvenancePolicy, options: VerifyOptions = {}): VerifiedStatement<SlsaProvenancePredicate> {
  const subject = { name: manifest.name, version: manifest.version, digest: manifestDigest(manifest) };
  const result = verifyAttestation(bundle, subject, policy.signers, SLSA_PROVENANCE_PREDICATE_TYPE, SlsaProvenancePredicate, 'PROVENANCE_INVALID', options);
  const builder = result.predicate.runDetails.builder.id;
  if (!policy.builderIds.includes(builder)) throw new SigningError('PROVENANCE_INVALID', `the builder ${JSON.stringify(builder.slice(0, 200))} is not allowed`);
  const expected = manifest.repository?.url;
  if (!expected) throw new SigningError('PROVENANCE_INVALID', 'the manifest names no repository.url to check the provenance source against');
  const sources = provenanceSources(result.predicate);
  if (sources.length === 0) throw new SigningError('PROVENANCE_INVALID', 'the provenance names no source repository');
  if (!sources.every((s) => sameRepository(s, expected))) {
    throw new SigningError('PROVENANCE_INVALID', `the provenance source ${JSON.stringify(sources[0]!.slice(0, 200))} is not the manifest repository ${expected}`);
  }
  return result;
}

/**
 * Verifies an in-toto bundle signed by one pinned public key (e.g. the registry's status key),
 * of the given predicate type; the caller checks subjects and predicate.
 * @example
 * const { statement } = verifyStatementBundle(body.bundle, pinnedStatusKeyPem, { predicateType: STATUS_PREDICATE_TYPE });
 * @throws SigningError `SIGNATURE_INVALID`, `SIGNER_UNTRUSTED`, `STATEMENT_INVALID`, `BUNDLE_INVALID`
 */
export function verifyStatementBundle(bundle: BundleInput, publicKey: string, expect: { predicateType: string }, options: VerifyOptions = {}): { statement: Statement; signer: VerifiedSigner; bundleDigest: string } {
  const policy = singleKeyPolicy(publicKey);
  const envelope = verifyEnvelopeBundle(bundle, compileTrust(policy), IN_TOTO_PAYLOAD_TYPE, options.cache, options.deferred);
  const statement = parseStatement(envelope.payload);
  if (statement.predicateType !== expect.predicateType) throw new SigningError('STATEMENT_INVALID', `the predicate type is ${JSON.stringify(statement.predicateType.slice(0, 200))}, expected ${expect.predicateType}`);
  return { statement, signer: envelope.signer, bundleDigest: envelope.bundleDigest };
}

const singleKeyPolicies = new Map<string, SignerPolicy>();
function singleKeyPolicy(publicKey: string): SignerPolicy {
  let policy = singleKeyPolicies.get(publicKey);
  if (!policy) {
    // Refuses what is no P-256 public key (KEY_INVALID), without importing one that is in
    // OpenSSL's PEM (its point checked on the curve): compileTrust imports it on first use.
    publicKeyFingerprint(publicKey);
    // What SignerPolicy.parse({ publicKeys: [publicKey] }) gives, without building the schema: a
    // key publicKeyFingerprint took is a non-empty string of at most MAX_PEM_BYTES, the schema's bounds.
    policy = publicKey.length >= 1 && publicKey.length <= MAX_PEM_BYTES ? { publicKeys: [publicKey], identities: [] } : SignerPolicy.parse({ publicKeys: [publicKey] });
    if (singleKeyPolicies.size >= 64) singleKeyPolicies.clear();
    singleKeyPolicies.set(publicKey, policy);
  }
  return policy;
}

function verifyAttestation<S extends z.ZodType>(
  bundle: BundleInput,
  subject: SubjectRef,
  policy: SignerPolicy,
  predicateType: string,
  schema: S,
  predicateCode: SigningErrorCode,
  options: VerifyOptions,
): VerifiedStatement<z.infer<S>> {
  const { verified: envelope, json } = verifyEnvelopeBundleJson(bundle, compileTrust(policy), IN_TOTO_PAYLOAD_TYPE, options.cache, options.deferred);
  // Parse only what the signature covers, exactly as signed.
  const statement = parseStatement(envelope.payload);
  checkSubject(statement, subject);
  if (statement.predicateType !== predicateType) {
    throw new SigningError(predicateCode, `the predicate type is ${JSON.stringify(statement.predicateType.slice(0, 200))}, expected ${predicateType}`);
  }
  let predicate: z.infer<S>;
  // A host checks a manifest and an approval predicate per locked server at each start; zod
  // decides (and words the refusal) only what the plain test is unsure of.
  if (plainPredicate(schema, statement.predicate)) predicate = statement.predicate as z.infer<S>;
  else {
    const parsed = schema.safeParse(statement.predicate);
    if (!parsed.success) throw new SigningError(predicateCode, `the predicate does not match ${predicateType}: ${z.prettifyError(parsed.error).slice(0, 500)}`, { cause: parsed.error });
    predicate = parsed.data as z.infer<S>;
  }
  return { signer: envelope.signer, statement, predicate, bundleDigest: envelope.bundleDigest, ...(envelope.log ? { log: envelope.log } : {}), bundle: json };
}

/**
 * @internal What the plain tests allow, written out so that a start builds no schema for them (the
 * schemas are built on first use, see `deferSchema`); plain-keys.test.ts checks each against its
 * schema.
 */
export const PLAIN_PREDICATE = {
  manifestKeys: new Set(['name', 'version', 'toolsDigest']) as ReadonlySet<string>,
  approvalKeys: new Set(['decision', 'reviewer', 'risk', 'time', 'comment']) as ReadonlySet<string>,
  decisions: new Set(['approved', 'rejected']) as ReadonlySet<unknown>,
  risks: new Set(['low', 'medium', 'high', 'critical']) as ReadonlySet<unknown>,
  statementKeys: new Set(['_type', 'subject', 'predicateType', 'predicate']) as ReadonlySet<string>,
};
const MANIFEST_PREDICATE_KEYS = PLAIN_PREDICATE.manifestKeys;
const APPROVAL_PREDICATE_KEYS = PLAIN_PREDICATE.approvalKeys;
const DECISIONS = PLAIN_PREDICATE.decisions;
const RISKS = PLAIN_PREDICATE.risks;

/**
 * True only when `schema` is ManifestPredicate or ApprovalPredicate and it accepts `json` and
 * would give it back as it is: every field checked as the schema checks it (names, versions,
 * digests and times by the same rule functions or schemas), no key outside the strict shape.
 * Anything else (another schema, an optional key present as undefined, a `constructor` key) is
 * false, and zod then decides and words the refusal.
 * @internal exported for its test
 */
export function plainPredicate(schema: z.ZodType, json: unknown): boolean {
  if (schema === ManifestPredicate) {
    if (!hasOnlyKeys(json, MANIFEST_PREDICATE_KEYS)) return false;
    const { name, version, toolsDigest } = json;
    return typeof name === 'string' && serverNameProblem(name) === undefined && typeof version === 'string' && versionProblem(version) === undefined && typeof toolsDigest === 'string' && DIGEST_PATTERN.test(toolsDigest);
  }
  if (schema === ApprovalPredicate) {
    if (!hasOnlyKeys(json, APPROVAL_PREDICATE_KEYS)) return false;
    const { decision, reviewer, risk, time } = json;
    if (!DECISIONS.has(decision) || !RISKS.has(risk) || !boundedText(reviewer, 1, 256)) return false;
    if (Object.hasOwn(json, 'comment') && !boundedText(json.comment, 1, STATEMENT_LIMITS.text)) return false;
    return typeof time === 'string' && TIMESTAMP_PATTERN.test(time);
  }
  return false;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses verified payload bytes as an in-toto Statement v1 (or with another statement schema). */
export function parseStatement(payload: Uint8Array, schema: z.ZodType<Statement> = Statement): Statement {
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(payload));
  } catch (cause) {
    throw new SigningError('STATEMENT_INVALID', 'the signed payload is not JSON', { cause });
  }
  // A host parses two statements per locked server at each start; zod decides only what the
  // plain test is unsure of.
  if (schema === Statement && plainStatement(json)) return json;
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new SigningError('STATEMENT_INVALID', `the signed payload is not an in-toto Statement: ${z.prettifyError(parsed.error).slice(0, 500)}`, { cause: parsed.error });
  return parsed.data;
}

const STATEMENT_KEYS = PLAIN_PREDICATE.statementKeys;
const SUBJECT_KEYS: ReadonlySet<string> = new Set(['name', 'digest']);

/**
 * True only when the Statement schema accepts `json` and would give it back as it is: every
 * field checked as the schema checks it, and no key outside the shape (zod would strip it).
 * Anything else (an extra key, a record with a `constructor` key, anything malformed) is false,
 * and zod then decides and words the refusal.
 * @internal exported for its test
 */
export function plainStatement(json: unknown): json is Statement {
  if (!isRecordObject(json)) return false;
  let present = 0;
  for (const key of Object.keys(json)) {
    if (!STATEMENT_KEYS.has(key)) return false;
    present++;
  }
  if (present !== STATEMENT_KEYS.size) return false;
  const { _type, subject, predicateType, predicate } = json;
  if (_type !== STATEMENT_TYPE || !isRecordObject(predicate)) return false;
  if (typeof predicateType !== 'string' || predicateType.length < 1 || predicateType.length > 512) return false;
  if (!Array.isArray(subject) || subject.length < 1 || subject.length > STATEMENT_LIMITS.subjects) return false;
  for (const item of subject as unknown[]) {
    if (!isRecordObject(item)) return false;
    let keys = 0;
    for (const key of Object.keys(item)) {
      if (!SUBJECT_KEYS.has(key)) return false;
      keys++;
    }
    const { name, digest } = item;
    if (keys !== 2 || typeof name !== 'string' || name.length < 1 || name.length > 512 || !isRecordObject(digest)) return false;
    for (const algorithm of Object.keys(digest)) {
      const value = digest[algorithm];
      if (algorithm.length > 32 || typeof value !== 'string' || value.length > 256 || !HEX_PATTERN.test(value)) return false;
    }
  }
  return true;
}


/** Exactly one subject, named `<name>@<version>`, with the manifest's sha256 and no other digest claims. */
function checkSubject(statement: Statement, ref: SubjectRef): void {
  if (statement.subject.length !== 1) throw new SigningError('SUBJECT_MISMATCH', `the statement has ${statement.subject.length} subjects; exactly one is accepted`);
  const subject = statement.subject[0]!;
  const expected = statementSubject(ref);
  if (subject.name !== expected.name) throw new SigningError('NAME_MISMATCH', `the statement is about ${JSON.stringify(subject.name.slice(0, 300))}, not ${expected.name}`);
  if (subject.digest.sha256 !== expected.digest.sha256) throw new SigningError('SUBJECT_MISMATCH', `the signed digest is not the digest of ${expected.name} (${ref.digest})`);
}

/** Source repositories the provenance claims, from the GitHub Actions workflow parameters and the resolved git dependencies. */
function provenanceSources(predicate: SlsaProvenancePredicate): string[] {
  const sources: string[] = [];
  const workflow = predicate.buildDefinition.externalParameters.workflow;
  if (workflow && typeof workflow === 'object' && typeof (workflow as { repository?: unknown }).repository === 'string') {
    sources.push((workflow as { repository: string }).repository);
  }
  for (const dep of predicate.buildDefinition.resolvedDependencies ?? []) {
    if (!dep.uri?.startsWith('git+')) continue;
    // `git+https://github.com/o/r@refs/heads/main`: the ref follows the last '@'.
    const uri = dep.uri.slice('git+'.length);
    const at = uri.lastIndexOf('@');
    sources.push(at > uri.indexOf('/', 'https://'.length) ? uri.slice(0, at) : uri);
  }
  return sources;
}

/** Same repository: scheme and host case-insensitive, no trailing `.git` or `/`. */
export function sameRepository(a: string, b: string): boolean {
  const norm = (url: string): string | undefined => {
    try {
      const u = new URL(url);
      if (u.protocol !== 'https:' || u.search || u.hash || u.username || u.password) return undefined;
      return `${u.host.toLowerCase()}${u.pathname.replace(/\/+$/, '').replace(/\.git$/, '')}`;
    } catch {
      return undefined;
    }
  };
  const x = norm(a);
  return x !== undefined && x === norm(b);
}
