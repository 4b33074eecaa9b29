import { manifestDigest, toolsSetDigest, type Manifest } from '@sigil/manifest';
import { z } from 'zod';
import { SigningError } from '../errors.js';
import {
  APPROVAL_PREDICATE_TYPE,
  ApprovalPredicate,
  IN_TOTO_PAYLOAD_TYPE,
  MANIFEST_PREDICATE_TYPE,
  SLSA_PROVENANCE_PREDICATE_TYPE,
  Statement,
  STATEMENT_LIMITS,
  STATEMENT_TYPE,
  statementSubject,
  type ApprovalDecision,
  type RiskLevel,
  type SubjectRef,
} from '../statements.js';
import { SlsaProvenancePredicate } from '../provenance-predicate.js';
import type { BundleSigner, SerializedBundle } from './signer.js';

/**
 * Signs any in-toto Statement v1 (validated and bounded first) as a DSSE bundle.
 * @example const bundle = await signStatement({ _type: STATEMENT_TYPE, subject, predicateType: STATUS_PREDICATE_TYPE, predicate }, statusSigner);
 * @throws SigningError `STATEMENT_INVALID` or `SIGNING_FAILED`
 */
export async function signStatement(statement: Statement, signer: BundleSigner): Promise<SerializedBundle> {
  const parsed = Statement.safeParse(statement);
  if (!parsed.success) throw new SigningError('STATEMENT_INVALID', `not an in-toto Statement v1: ${z.prettifyError(parsed.error).slice(0, 500)}`, { cause: parsed.error });
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  if (payload.length > STATEMENT_LIMITS.payloadBytes) throw new SigningError('STATEMENT_INVALID', `the statement is larger than ${STATEMENT_LIMITS.payloadBytes} bytes`);
  return signer.signDsse(payload, IN_TOTO_PAYLOAD_TYPE);
}

/**
 * Signs a publisher's manifest statement: subject `<name>@<version>` with the canonical
 * manifest sha256, predicate {@link MANIFEST_PREDICATE_TYPE}.
 * @example const bundle = await signManifestStatement(manifest, createSigner({ privateKey }));
 */
export async function signManifestStatement(manifest: Manifest, signer: BundleSigner): Promise<SerializedBundle> {
  const subject = { name: manifest.name, version: manifest.version, digest: manifestDigest(manifest) };
  return signStatement(
    { _type: STATEMENT_TYPE, subject: [statementSubject(subject)], predicateType: MANIFEST_PREDICATE_TYPE, predicate: { name: manifest.name, version: manifest.version, toolsDigest: toolsSetDigest(manifest.tools) } },
    signer,
  );
}

/** What a reviewer decides; `time` defaults to now. */
export interface ApprovalInput {
  decision: ApprovalDecision;
  reviewer: string;
  risk: RiskLevel;
  time?: Date | string;
  comment?: string;
}

/**
 * Signs a reviewer's approval (or rejection) of one version, identified by name, version and
 * manifest digest.
 * @example
 * const bundle = await signApprovalStatement(
 *   { name: 'io.github.acme/weather', version: '1.2.0', digest: 'sha256:…' },
 *   { decision: 'approved', reviewer: 'alice', risk: 'low', comment: 'read-only tools' },
 *   signer,
 * );
 * @throws SigningError `STATEMENT_INVALID` or `SIGNING_FAILED`
 */
export async function signApprovalStatement(subject: SubjectRef, approval: ApprovalInput, signer: BundleSigner): Promise<SerializedBundle> {
  const time = approval.time === undefined ? new Date() : new Date(approval.time);
  if (Number.isNaN(time.getTime())) throw new SigningError('STATEMENT_INVALID', 'the approval time is not a date');
  const predicate = ApprovalPredicate.safeParse({
    decision: approval.decision,
    reviewer: approval.reviewer,
    risk: approval.risk,
    time: time.toISOString(),
    ...(approval.comment !== undefined ? { comment: approval.comment } : {}),
  });
  if (!predicate.success) throw new SigningError('STATEMENT_INVALID', `not a valid approval: ${z.prettifyError(predicate.error).slice(0, 500)}`, { cause: predicate.error });
  checkSubjectRef(subject);
  return signStatement({ _type: STATEMENT_TYPE, subject: [statementSubject(subject)], predicateType: APPROVAL_PREDICATE_TYPE, predicate: predicate.data }, signer);
}

/** A version as the registry served it to a reviewer: what an approval is about. */
export interface ServedVersion {
  name: string;
  version: string;
  /** The digest the registry states for it. */
  digest: string;
  manifest: Manifest;
}

/**
 * The subject a reviewer's approval signs, decided from what was served and never on the
 * registry's word: the digest is recomputed from the manifest served (a swapped digest would
 * approve another manifest), and when the reviewer names the digest they reviewed (`sigil review
 * show`), the version must still have it (what the registry serves now may not be what was shown).
 * @example const subject = approvalSubject(record, 'sha256:…'); await signApprovalStatement(subject, approval, signer);
 * @throws SigningError `NAME_MISMATCH` (the manifest is of another version), `SUBJECT_MISMATCH` (the stated
 *   digest is not the manifest's), `REVIEW_MISMATCH` (the manifest is not the one reviewed)
 */
export function approvalSubject(served: ServedVersion, reviewedDigest?: string): SubjectRef {
  const { name, version } = served;
  if (served.manifest.name !== name || served.manifest.version !== version) throw new SigningError('NAME_MISMATCH', `the registry served the manifest of ${served.manifest.name}@${served.manifest.version} as ${name}@${version}: nothing was signed`);
  const digest = manifestDigest(served.manifest);
  if (digest !== served.digest) throw new SigningError('SUBJECT_MISMATCH', `the registry states digest ${served.digest} for ${name}@${version}, but the manifest it served has digest ${digest}: nothing was signed`);
  if (reviewedDigest !== undefined && reviewedDigest !== digest) throw new SigningError('REVIEW_MISMATCH', `you reviewed ${name}@${version} with digest ${reviewedDigest}, but the registry now serves it with digest ${digest}: nothing was signed; review what it serves (sigil review show) before approving`);
  return { name, version, digest };
}

/**
 * Signs SLSA v1 provenance for a manifest (see `provenanceFromGitHubActions`).
 * @example const bundle = await signProvenance(manifest, provenanceFromGitHubActions(process.env), buildSigner);
 * @throws SigningError `PROVENANCE_INVALID` or `SIGNING_FAILED`
 */
export async function signProvenance(manifest: Manifest, predicate: SlsaProvenancePredicate, signer: BundleSigner): Promise<SerializedBundle> {
  const parsed = SlsaProvenancePredicate.safeParse(predicate);
  if (!parsed.success) throw new SigningError('PROVENANCE_INVALID', `not SLSA provenance v1: ${z.prettifyError(parsed.error).slice(0, 500)}`, { cause: parsed.error });
  const subject = { name: manifest.name, version: manifest.version, digest: manifestDigest(manifest) };
  return signStatement({ _type: STATEMENT_TYPE, subject: [statementSubject(subject)], predicateType: SLSA_PROVENANCE_PREDICATE_TYPE, predicate: parsed.data }, signer);
}

function checkSubjectRef(ref: SubjectRef): void {
  if (!/^sha256:[0-9a-f]{64}$/.test(ref.digest)) throw new SigningError('STATEMENT_INVALID', 'the subject digest must be sha256:<64 hex>');
  if (!ref.name || !ref.version) throw new SigningError('STATEMENT_INVALID', 'the subject needs a name and a version');
}
