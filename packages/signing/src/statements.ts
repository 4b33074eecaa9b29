import { z } from 'zod';
import { deferSchema, Digest, ServerName, Version } from '@sigil/manifest';

/** DSSE payload type of every envelope we sign or accept (in-toto attestation framework). */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** in-toto Statement v1 `_type`. */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** Predicate type of a publisher's manifest statement. */
export const MANIFEST_PREDICATE_TYPE = 'https://sigil.dev/attestation/manifest/v1';
/** Predicate type of a reviewer's approval (or rejection) statement. */
export const APPROVAL_PREDICATE_TYPE = 'https://sigil.dev/attestation/approval/v1';
/** Predicate type of the registry's signed, expiring status statement (schema owned by the registry). */
export const STATUS_PREDICATE_TYPE = 'https://sigil.dev/attestation/status/v1';
/**
 * Predicate type of the registry's one signature over a batch of status statements: its one
 * subject, named {@link STATUS_BATCH_SUBJECT}, has the batch's Merkle tree root as its sha256
 * (RFC 9162 section 2.1 hashing over the exact statement bytes), and the predicate states the
 * tree size (docs/api.md, "Batched status").
 */
export const STATUS_BATCH_PREDICATE_TYPE = 'https://sigil.dev/attestation/status-batch/v1';
/** Subject name of a status batch statement. */
export const STATUS_BATCH_SUBJECT = 'status-batch';
/** Most leaves one status batch signature covers, as a verifier accepts them. */
export const MAX_STATUS_BATCH_LEAVES = 65_536;
/** Predicate of a status batch statement. */
export const StatusBatchPredicate = deferSchema(() => z.strictObject({ treeSize: z.number().int().min(1).max(MAX_STATUS_BATCH_LEAVES) }));
export type StatusBatchPredicate = z.infer<typeof StatusBatchPredicate>;
/** SLSA provenance v1 (the standard predicate type, not ours). */
export const SLSA_PROVENANCE_PREDICATE_TYPE = 'https://slsa.dev/provenance/v1';

/** Bounds on what we sign and accept. */
export const STATEMENT_LIMITS = {
  /** Largest serialized bundle accepted, in bytes. */
  bundleBytes: 256 * 1024,
  /** Largest DSSE payload (the statement), in bytes. */
  payloadBytes: 128 * 1024,
  /** Most subjects in one statement (ours carry exactly one; the registry's status statement more). */
  subjects: 1024,
  /** Longest free-text field (approval comment, reviewer). */
  text: 4096,
} as const;

const Text = deferSchema(() => z.string().min(1).max(STATEMENT_LIMITS.text));
/** @internal Shared with parseStatement's plain test (verify/attestations.ts). */
export const HEX_PATTERN = /^[0-9a-f]+$/;
const Hex = deferSchema(() => z.string().regex(HEX_PATTERN).max(256));

/** One in-toto ResourceDescriptor as used for subjects: a name and its digests. */
export const StatementSubject = deferSchema(() => z.object({
  name: z.string().min(1).max(512),
  digest: z.record(z.string().max(32), Hex),
}));
export type StatementSubject = z.infer<typeof StatementSubject>;

/** An in-toto Statement v1 with any predicate (parsed after the signature over its exact bytes verified). */
export const Statement = deferSchema(() => z.object({
  _type: z.literal(STATEMENT_TYPE),
  subject: z.array(StatementSubject).min(1).max(STATEMENT_LIMITS.subjects),
  predicateType: z.string().min(1).max(512),
  predicate: z.record(z.string(), z.unknown()),
}));
export type Statement = z.infer<typeof Statement>;

/**
 * Predicate of a manifest statement: the publisher vouches for the manifest whose canonical
 * digest is the subject's sha256, and restates its tools-set digest so hosts can pin it.
 */
export const ManifestPredicate = deferSchema(() => z.strictObject({
  name: ServerName,
  version: Version,
  toolsDigest: Digest,
}));
export type ManifestPredicate = z.infer<typeof ManifestPredicate>;

/** Review outcome recorded by an approval statement. */
export const ApprovalDecision = deferSchema(() => z.enum(['approved', 'rejected']));
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;
/** The reviewer's judgement of the risk of the version. */
export const RiskLevel = deferSchema(() => z.enum(['low', 'medium', 'high', 'critical']));
export type RiskLevel = z.infer<typeof RiskLevel>;

/** Predicate of an approval statement: who decided what, at what risk, when. */
export const ApprovalPredicate = deferSchema(() => z.strictObject({
  decision: ApprovalDecision,
  reviewer: z.string().min(1).max(256),
  risk: RiskLevel,
  time: z.iso.datetime({ offset: false }),
  comment: Text.optional(),
}));
export type ApprovalPredicate = z.infer<typeof ApprovalPredicate>;

/** What a statement is about: one server version and its manifest digest. */
export interface SubjectRef {
  name: string;
  version: string;
  /** `sha256:<hex>` of the canonical manifest. */
  digest: string;
}

/**
 * The in-toto subject for a server version: name `<name>@<version>`, the manifest's sha256.
 * @example statementSubject({ name: 'io.github.acme/weather', version: '1.2.0', digest: 'sha256:ab…' })
 * // { name: 'io.github.acme/weather@1.2.0', digest: { sha256: 'ab…' } }
 */
export function statementSubject(ref: SubjectRef): StatementSubject {
  return { name: `${ref.name}@${ref.version}`, digest: { sha256: ref.digest.slice('sha256:'.length) } };
}
