import {
  canonicalManifestDigests,
  deferSchema,
  checkManifestValue,
  manifestDigests,
  sha256,
  serverNameProblem,
  versionProblem,
  VersionRecord,
  type Digest,
  type Manifest,
  type ManifestDigests,
  type StatusEntry,
  type VersionStatus,
} from '@sigil/manifest';
import { z } from 'zod';
import { contractCode, SigningError, VERIFIER_VERSION, verifyApprovalBundle, verifyManifestSubject, type DeferredSignatures, type VerificationCache, type VerifiedSigner } from '@sigil/signing/verify';
import { ResolveError, type ResolveErrorCode } from './errors.js';
import { boundedText, isDigest, isRecordObject, isTimestamp } from './plain.js';
import { publishersFor, type TrustPolicy } from './policy.js';

/**
 * The record's shape without its manifest: the manifest is checked once, on its own, by
 * `checkManifestValue` (format, limits, every finding), rather than twice.
 */
/** @internal exported for its test */
export const RecordEnvelope = deferSchema(() => VersionRecord.omit({ manifest: true }).extend({ manifest: z.unknown() }));

/**
 * @internal RecordEnvelope's keys, written out so that a start builds no schema for the plain test
 * (see `deferSchema`); plain-keys.test.ts checks them against the schema.
 */
export const ENVELOPE_KEYS: ReadonlySet<string> = new Set(['name', 'version', 'digest', 'toolsDigest', 'status', 'risk', 'publisher', 'signer', 'publishedAt', 'bundle', 'provenance', 'approvals', 'rejection', 'revocation', 'manifest']);
const SIGNER_KEYS: ReadonlySet<string> = new Set(['kind', 'keyFingerprint', 'identity']);
const APPROVAL_KEYS: ReadonlySet<string> = new Set(['digest', 'reviewer', 'bundle', 'createdAt']);
const NOTE_KEYS: ReadonlySet<string> = new Set(['reason', 'by', 'at']);
const STATUSES: ReadonlySet<unknown> = new Set(['pending', 'approved', 'rejected', 'revoked']);

/**
 * True only when RecordEnvelope accepts `raw` and would give it back as it is: every field of
 * the schema checked as the schema checks it (the leaf strings by the same schemas or rule
 * functions), and no key outside the shape at any level, so zod would strip nothing. zod's parse
 * of the whole envelope costs a host about as much per locked server as the manifest check; an
 * envelope this test is unsure of (an extra key, a record with a `constructor` key, anything
 * malformed) goes through zod, which decides and words the refusal.
 */
/** @internal exported for its test */
export function plainEnvelope(raw: Record<string, unknown>): boolean {
  if (!isRecordObject(raw)) return false;
  for (const key of Object.keys(raw)) if (!ENVELOPE_KEYS.has(key)) return false;
  // zod's object refuses a missing key even for z.unknown().
  if (!Object.hasOwn(raw, 'manifest')) return false;
  const { name, version, digest, toolsDigest, status, risk, publisher, signer, publishedAt, bundle, provenance, approvals, rejection, revocation } = raw;
  if (typeof name !== 'string' || serverNameProblem(name) !== undefined) return false;
  if (typeof version !== 'string' || versionProblem(version) !== undefined) return false;
  if (!isDigest(digest) || !isDigest(toolsDigest)) return false;
  if (!STATUSES.has(status) || (risk !== 'low' && risk !== 'high')) return false;
  if (!boundedText(publisher, 1, 256)) return false;
  if (!isRecordObject(signer)) return false;
  for (const key of Object.keys(signer)) if (!SIGNER_KEYS.has(key)) return false;
  if ((signer.kind !== 'key' && signer.kind !== 'certificate') || !boundedText(signer.keyFingerprint, 1, 128)) return false;
  if (signer.identity !== undefined && !boundedText(signer.identity, 1, 1024)) return false;
  if (!isTimestamp(publishedAt) || !isRecordObject(bundle) || (provenance !== undefined && !isRecordObject(provenance))) return false;
  if (!Array.isArray(approvals) || approvals.length > 64) return false;
  for (const approval of approvals as unknown[]) {
    if (!isRecordObject(approval)) return false;
    for (const key of Object.keys(approval)) if (!APPROVAL_KEYS.has(key)) return false;
    if (!isDigest(approval.digest) || !boundedText(approval.reviewer, 1, 256) || !isRecordObject(approval.bundle) || !isTimestamp(approval.createdAt)) return false;
  }
  return plainNote(rejection) && plainNote(revocation);
}

/** The optional `{reason, by, at}` of a rejection or revocation. */
function plainNote(note: unknown): boolean {
  if (note === undefined) return true;
  if (!isRecordObject(note)) return false;
  for (const key of Object.keys(note)) if (!NOTE_KEYS.has(key)) return false;
  return boundedText(note.reason, 0, 4096) && boundedText(note.by, 0, 256) && isTimestamp(note.at);
}

/**
 * The texts of a record's manifest, publisher bundle and approval bundles (by index), cut out of
 * the record's own text when it is canonical JSON (as HostTrustStore stores records): for
 * {@link verifyVersion}, which hashes them as they are instead of serialising the parsed values
 * again. They are found by their neighbours, not by a parse, so a cut can be wrong; a wrong one
 * only loses the shortcut, never changes an outcome: the manifest's text must hash to the lock's
 * pins, an approval's to the digest the record states for it, and the publisher bundle's text is
 * used only if it verifies (otherwise the parsed bundle is verified, as without texts).
 */
export interface RecordTexts {
  manifest?: string;
  bundle?: string;
  approvals?: ReadonlyArray<string | undefined>;
  /** The tools-set digest the lock pins, which the manifest's text must also hash to. */
  toolsDigest?: Digest;
}

/**
 * {@link RecordTexts} of the canonical JSON text of `name`'s record (keys sorted: approvals,
 * bundle, digest, manifest, name, then keys from "p" on); undefined when the text is not laid out
 * so (a record stored as the registry sent it).
 */
export function recordTexts(text: string, name: string, toolsDigest?: Digest): RecordTexts | undefined {
  if (!text.startsWith('{"approvals":[')) return undefined;
  const bundleAt = text.indexOf('],"bundle":{');
  const digestAt = text.indexOf('},"digest":"sha256:', bundleAt);
  const manifestAt = text.indexOf('","manifest":{', digestAt);
  const nameAt = text.indexOf(`},"name":${JSON.stringify(name)},"p`, manifestAt);
  if (bundleAt < 0 || digestAt < 0 || manifestAt < 0 || nameAt < 0) return undefined;
  const approvals: string[] = [];
  for (let at = text.indexOf('{"bundle":{', 14); at >= 0 && at < bundleAt; at = text.indexOf('{"bundle":{', at)) {
    const end = text.indexOf('},"createdAt":"', at);
    if (end < 0 || end > bundleAt) break;
    approvals.push(text.slice(at + 10, end + 1));
    at = end;
  }
  return { manifest: text.slice(manifestAt + 13, nameAt + 1), bundle: text.slice(bundleAt + 11, digestAt + 1), approvals, ...(toolsDigest ? { toolsDigest } : {}) };
}

/** A version every check passed for: safe to run. */
export interface VerifiedVersion {
  name: string;
  version: string;
  digest: Digest;
  toolsDigest: Digest;
  manifest: Manifest;
  /** The verified publisher: key fingerprint, or certificate identity. */
  signer: string;
  /** Digests of the counted approval bundles, sorted. */
  approvals: Digest[];
  risk: 'low' | 'high';
  status: VersionStatus;
  /** The record as received, for the local cache. */
  record: VersionRecord;
}

/** What the host already pinned, when it has a lock entry. */
export interface Expectation {
  digest?: Digest;
  signer?: string;
  /** The lock entry's approvals: each must be among the approvals counted now (`NOT_APPROVED`). */
  approvals?: readonly string[];
}

/** The identity by which a verified signer is pinned and compared. */
export function signerId(signer: VerifiedSigner): string {
  return signer.kind === 'certificate' ? signer.identity : signer.keyFingerprint;
}

/**
 * What a version record proves under a policy, independent of time and of the registry's
 * current status: digests, the allowed publisher, and the approvals that verify. Safe to keep,
 * keyed by the exact record bytes and the policy, so an unchanged record is verified once.
 */
export interface RecordProof {
  digest: Digest;
  toolsDigest: Digest;
  signer: string;
  readOnly: boolean;
  recordRisk: 'low' | 'high';
  /** Approvals by policy reviewers that verify over this digest, not by the publisher's key. */
  approvals: Array<{ who: string; digest: Digest }>;
  /** Approvals that do not count, and why. */
  ignored: string[];
}

/**
 * Steps 1-3 and the cryptographic part of step 4 of {@link verifyVersion}: the answer is about
 * the name and version asked (NAME_MISMATCH), its manifest digest equals the pin
 * (DIGEST_MISMATCH: the rug pull), a publisher signature exists (UNSIGNED) and verifies over
 * this manifest (SIGNATURE_INVALID) by a signer the policy allows (SIGNER_UNTRUSTED); approvals
 * are verified but not yet counted. With `deferred`, the signature checks of kept results are
 * queued there and the proof stands only once `deferred.settle()` is true (see
 * {@link verifyVersion}).
 */
export function proveRecord(
  name: string,
  version: string,
  raw: unknown,
  policy: TrustPolicy,
  expectDigest: Digest | undefined,
  cache?: VerificationCache,
  texts?: RecordTexts,
  deferred?: DeferredSignatures,
): { proof: RecordProof; record: VersionRecord } {
  const refuse = (code: ResolveErrorCode, message: string, details?: unknown, cause?: unknown): never => {
    throw ResolveError.of(name, code, message, details, cause);
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) refuse('RESPONSE_INVALID', 'the registry did not answer with a version record');
  const rawRecord = raw as Record<string, unknown>;
  if (rawRecord.name !== name || rawRecord.version !== version) {
    refuse('NAME_MISMATCH', `asked for ${name}@${version}, the registry answered about ${String(rawRecord.name).slice(0, 200)}@${String(rawRecord.version).slice(0, 100)}`);
  }
  if (rawRecord.bundle === undefined || rawRecord.bundle === null) refuse('UNSIGNED', `${name}@${version} carries no publisher signature`);
  let envelope: z.infer<typeof RecordEnvelope>;
  if (plainEnvelope(rawRecord)) envelope = rawRecord as z.infer<typeof RecordEnvelope>;
  else {
    const parsed = RecordEnvelope.safeParse(raw);
    if (!parsed.success) refuse('RESPONSE_INVALID', `the version record is malformed at /${parsed.error.issues[0]?.path.join('/')}: ${parsed.error.issues[0]?.message}`);
    envelope = parsed.data!;
  }
  // A record kept as canonical JSON (HostTrustStore stores them so) holds its manifest's canonical
  // bytes: when they hash to the pin, both digests come from those bytes as they are, and the
  // manifest checked and used is the one parsed from them. Anything else (a record stored as the
  // registry sent it, an edited one) is digested from the parsed manifest, as without texts.
  let canonical: ManifestDigests | undefined;
  let manifestValue: unknown = envelope.manifest;
  // The manifest's checks and its tools-set digest are pure functions of its bytes: when this host
  // vouches (in this process, or sealed under its key: see VerificationCache.hasFact) that the bytes
  // hashing to the pinned digest passed the checks as they are and have the pinned tools-set digest,
  // only the bytes' own digest is computed again (against the pin, as always), and the value parsed
  // from those bytes is the manifest the checks returned.
  let checkedFact: string | undefined;
  let vouched = false;
  if (texts?.manifest !== undefined && texts.toolsDigest !== undefined && expectDigest !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(texts.manifest);
    } catch {
      parsed = undefined;
    }
    const tools = (parsed as { tools?: unknown } | undefined)?.tools;
    const fact = `${VERIFIER_VERSION}:manifest-checked:${expectDigest}:${texts.toolsDigest}`;
    if (Array.isArray(tools) && cache?.hasFact(fact) && sha256(texts.manifest) === expectDigest) {
      canonical = { digest: expectDigest, toolsDigest: texts.toolsDigest };
      vouched = true;
    } else canonical = Array.isArray(tools) ? canonicalManifestDigests(texts.manifest, tools.length, { digest: expectDigest, toolsDigest: texts.toolsDigest }) : undefined;
    if (canonical) {
      manifestValue = parsed;
      checkedFact = fact;
    }
  }
  let manifest: Manifest;
  if (vouched) manifest = manifestValue as Manifest;
  else {
    const check = checkManifestValue(manifestValue, undefined, canonical ? texts!.manifest : undefined);
    if (!check.manifest) refuse('RESPONSE_INVALID', `the manifest served for ${name}@${version} is not a valid manifest`, check.findings);
    manifest = check.manifest!;
    // checkManifestValue returns the value it checked unless zod rebuilt it: the bytes' digests are
    // then not the digests of what it returned.
    if (manifest !== manifestValue) canonical = undefined;
    else if (checkedFact !== undefined) cache?.addFact(checkedFact);
  }
  let record: VersionRecord = { ...envelope, manifest };
  if (manifest.name !== name || manifest.version !== version) refuse('NAME_MISMATCH', `the manifest served for ${name}@${version} is for ${manifest.name}@${manifest.version}`);

  // Both digests once, from the manifest parsed above; the signature check below compares the
  // signed subject with these, not with digests of anything else.
  const { digest, toolsDigest } = canonical ?? manifestDigests(manifest);
  if (expectDigest !== undefined && digest !== expectDigest) {
    refuse('DIGEST_MISMATCH', `the manifest of ${name}@${version} has digest ${digest}, but the lock pins ${expectDigest}: it changed after it was locked`);
  }
  if (record.digest !== digest) refuse('DIGEST_MISMATCH', `the registry states digest ${record.digest} for a manifest whose digest is ${digest}`);

  const publishers = publishersFor(policy, name);
  if (!publishers) refuse('SIGNER_UNTRUSTED', `the policy names no publisher for the namespace of ${name}`);
  let signer: VerifiedSigner;
  try {
    // Refuses (SUBJECT_MISMATCH) unless the signed digests are these.
    const subject = { name, version, digest, toolsDigest };
    // The bundle's own bytes in a canonical record: hashed as they are (its digest keys the kept
    // signature results), parsed and verified from the same bytes. Any bundle that verifies is a
    // valid publisher signature over this very manifest; if the text cut out does not, the parsed
    // bundle decides, as without texts.
    let viaText: { signer: VerifiedSigner; bundle: unknown } | undefined;
    if (canonical && texts?.bundle !== undefined) {
      try {
        viaText = verifyManifestSubject(texts.bundle, subject, publishers!, { cache, deferred });
      } catch {
        viaText = undefined;
      }
    }
    signer = viaText?.signer ?? verifyManifestSubject(record.bundle, subject, publishers!, { cache, deferred }).signer;
    // What is checked later (its log entry, the checkpoint it carries) is the bundle whose signature
    // verified, not the record's parsed field, which an edited store could make another one (a
    // second "bundle" key: the cut takes one, JSON.parse the other): the verifier's own parse of
    // the bytes it verified, not a second parse of them.
    if (viaText) record = { ...record, bundle: viaText.bundle as VersionRecord['bundle'] };
  } catch (e) {
    return refuse(fromSigning(e), `the publisher signature of ${name}@${version} does not hold: ${(e as Error).message}`, undefined, e);
  }
  const publisher = signerId(signer);
  const approvals: RecordProof['approvals'] = [];
  const ignored: string[] = [];
  /** Approvals counted from their bytes: the record carries those bytes' bundle onward (the log check proves it). */
  const fromText = new Map<number, VersionRecord['approvals'][number]['bundle']>();
  record.approvals.forEach((approval, i) => {
    // An approval's bytes only when they hash to the digest the record states for it: the digest
    // counted is then that of the very bytes verified, and a bundle stored in another form is
    // verified as before (from its parsed value, under its canonical digest).
    const text = canonical ? texts?.approvals?.[i] : undefined;
    const useText = text !== undefined && sha256(text) === approval.digest;
    const input = useText ? text : approval.bundle;
    try {
      const verified = verifyApprovalBundle(input, { name, version, digest }, policy.reviewers, { cache, deferred });
      const who = signerId(verified.signer);
      if (verified.predicate.decision !== 'approved') ignored.push(`${who}: decision ${verified.predicate.decision}`);
      else if (verified.signer.keyFingerprint === signer.keyFingerprint || who === publisher) ignored.push(`${who}: the publisher cannot approve its own manifest`);
      else {
        approvals.push({ who, digest: verified.bundleDigest as Digest });
        if (useText) fromText.set(i, verified.bundle as VersionRecord['approvals'][number]['bundle']);
      }
    } catch (e) {
      ignored.push(`${approval.reviewer}: ${e instanceof SigningError ? e.code : 'invalid'}`);
    }
  });
  if (fromText.size > 0) record = { ...record, approvals: record.approvals.map((a, i) => (fromText.has(i) ? { ...a, bundle: fromText.get(i)! } : a)) };
  const proof: RecordProof = {
    digest,
    toolsDigest,
    signer: publisher,
    readOnly: manifest.tools.every((t) => t.annotations?.readOnlyHint === true),
    recordRisk: record.risk,
    approvals,
    ignored,
  };
  return { proof, record };
}

/**
 * The rest of {@link verifyVersion}, cheap and applied on every resolution: the pins (digest,
 * signer), enough distinct approvals the signed status also counts (NOT_APPROVED), the status
 * itself (REVOKED, NOT_APPROVED, DIGEST_MISMATCH), and the approvals the lock pins, each still
 * counted (NOT_APPROVED).
 */
export function judgeVersion(name: string, version: string, proof: RecordProof, record: VersionRecord, policy: TrustPolicy, entry: StatusEntry | undefined, expect: Expectation): VerifiedVersion {
  const refuse = (code: ResolveErrorCode, message: string, details?: unknown): never => {
    throw ResolveError.of(name, code, message, details);
  };
  if (expect.digest !== undefined && proof.digest !== expect.digest) refuse('DIGEST_MISMATCH', `the manifest of ${name}@${version} has digest ${proof.digest}, but the lock pins ${expect.digest}`);
  if (expect.signer !== undefined && proof.signer !== expect.signer) refuse('SIGNER_UNTRUSTED', `${name}@${version} is signed by ${proof.signer}, but the lock pins ${expect.signer}`);
  const risk: 'low' | 'high' = !proof.readOnly || entry?.risk === 'high' || proof.recordRisk === 'high' ? 'high' : 'low';
  const needed = risk === 'high' ? policy.highRiskThreshold : policy.threshold;
  const counted = new Map<string, Digest>();
  const ignored = [...proof.ignored];
  for (const a of proof.approvals) {
    if (entry && !entry.approvals.includes(a.digest)) ignored.push(`${a.who}: not counted by the registry's signed status`);
    else if (!counted.has(a.who)) counted.set(a.who, a.digest);
  }
  if (counted.size < needed) {
    refuse(
      'NOT_APPROVED',
      `${name}@${version} has ${counted.size} valid approval(s) from policy reviewers; a ${risk}-risk version needs ${needed}${ignored.length ? ` (not counted: ${ignored.join('; ')})` : ''}`,
      { counted: [...counted.keys()], ignored, risk, needed },
    );
  }
  if (!entry || entry.status === 'unknown') refuse('NOT_APPROVED', `the registry's signed status does not cover ${name}@${version}`);
  if (entry!.digest !== proof.digest) refuse('DIGEST_MISMATCH', `the registry's signed status is for digest ${entry!.digest}, not ${proof.digest}`);
  if (entry!.status === 'revoked') refuse('REVOKED', `${name}@${version} was revoked${entry!.reason ? `: ${entry!.reason}` : ''}`);
  if (entry!.status !== 'approved') refuse('NOT_APPROVED', `${name}@${version} is ${entry!.status} in the registry`);
  // The lock names the approvals it was locked on: each must still count (verified over this digest,
  // by a reviewer of this policy, listed by this signed status), any of a reviewer's approvals, not
  // only the one counted first. One that no longer counts (withdrawn from the status, its reviewer
  // removed from the policy, or never an approval of this record) refuses the pin, even when enough
  // others count: lock it again to pin the approvals that count now.
  if (expect.approvals !== undefined && expect.approvals.length > 0) {
    const countable = new Set(proof.approvals.filter((a) => entry!.approvals.includes(a.digest)).map((a) => a.digest as string));
    const gone = expect.approvals.filter((d) => !countable.has(d));
    if (gone.length > 0) {
      refuse(
        'NOT_APPROVED',
        `the lock pins ${gone.length === 1 ? 'an approval' : `${gone.length} approvals`} of ${name}@${version} that no longer ${gone.length === 1 ? 'counts' : 'count'} (${gone.join(', ')}): not a verified approval of this record by a reviewer of the policy that the signed status lists; lock it again (sigil lock ${name}@${version}) to pin the approvals that count`,
        { notCounted: gone, counted: [...countable] },
      );
    }
  }
  return { name, version, digest: proof.digest, toolsDigest: proof.toolsDigest, manifest: record.manifest, signer: proof.signer, approvals: [...counted.values()].sort(), risk, status: 'approved', record };
}

/**
 * Verifies one version record against the host's policy, its pin and the signed status entry,
 * in the order of the resolver's contract, throwing the first refusal:
 * 1. the answer is one version record, about exactly the server and version asked (NAME_MISMATCH);
 * 2. its manifest's canonical digest equals the pin (DIGEST_MISMATCH: the rug pull);
 * 3. a publisher signature exists (UNSIGNED), verifies over this manifest (SIGNATURE_INVALID,
 *    NAME_MISMATCH inside the statement) and comes from a signer the policy allows for the
 *    namespace and the lock pinned (SIGNER_UNTRUSTED);
 * 4. enough distinct policy reviewers approved this exact digest (NOT_APPROVED);
 * 5. the signed status covers this digest, is approved and not revoked (REVOKED, NOT_APPROVED);
 * 6. every approval the lock pins is among those counted now (NOT_APPROVED).
 * The status statement itself (signature, freshness) is checked once per resolution by the caller.
 *
 * With `deferred` (and a `cache`), the signature checks of kept results are queued there and run
 * when it settles (partly on the thread pool): what this returns or throws is then provisional,
 * and stands only when `await deferred.settle()` is true; when it is false, call this again
 * without `deferred` and use that outcome instead (a failed check there is a cache miss, and the
 * full verification decides).
 */
export function verifyVersion(
  name: string,
  version: string,
  raw: unknown,
  policy: TrustPolicy,
  entry: StatusEntry | undefined,
  expect: Expectation,
  cache?: VerificationCache,
  texts?: RecordTexts,
  deferred?: DeferredSignatures,
): VerifiedVersion {
  const { proof, record } = proveRecord(name, version, raw, policy, expect.digest, cache, texts, deferred);
  return judgeVersion(name, version, proof, record, policy, entry, expect);
}

/** Maps a signing refusal to the resolver's contract code. */
export function fromSigning(e: unknown): ResolveErrorCode {
  if (!(e instanceof SigningError)) return 'SIGNATURE_INVALID';
  const code = contractCode(e);
  if (code === 'UNSIGNED' || code === 'SIGNER_UNTRUSTED' || code === 'NAME_MISMATCH' || code === 'LOG_ENTRY_INVALID') return code;
  return 'SIGNATURE_INVALID';
}
