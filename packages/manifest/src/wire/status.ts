import { z } from 'zod';
import { Digest, Version } from '../schema.js';
import { BundleJson, RiskLevel, Timestamp, VersionStatus } from './common.js';
import { deferSchema } from '../defer-schema.js';

/** Most references in one status request. */
export const MAX_STATUS_REFS = 256;

/** `POST /v1/status` request: the references to report on, and an optional nonce echoed in the signed answer. */
export const StatusRequest = deferSchema(() => z.strictObject({
  refs: z.array(z.string().min(3).max(512)).min(1).max(MAX_STATUS_REFS),
  /** Random value from the host; the signed statement repeats it, so an old answer cannot be replayed to this request. */
  nonce: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/).optional(),
  /**
   * Ask for the batched answer: the statement signed as a leaf of a Merkle tree over the answers
   * of a short window, with its inclusion proof (docs/api.md, "Batched status"). Without it, the
   * statement is signed on its own, as before.
   */
  batch: z.boolean().optional(),
}).refine((r) => r.batch !== true || r.nonce !== undefined, {
  // An inclusion path shows the hashes of the batch's other answers: a statement with the asker's
  // random nonce in it cannot be guessed from its hash, one without could be (who asked what, when).
  message: 'a batched status needs a nonce (the other answers of a batch see the hash of this one)',
  path: ['nonce'],
}));
export type StatusRequest = z.infer<typeof StatusRequest>;

/** One reference's status inside the signed statement. */
export const StatusEntry = deferSchema(() => z.strictObject({
  ref: z.string().min(3).max(512),
  /** `unknown` when the registry has no such version. */
  status: z.union([VersionStatus, z.literal('unknown')]),
  digest: Digest.optional(),
  risk: RiskLevel.optional(),
  /** Digests of the approval bundles the registry counts for this version. */
  approvals: z.array(Digest).max(64),
  revokedAt: Timestamp.optional(),
  reason: z.string().max(4096).optional(),
  /**
   * The newest approved version of this reference's server, by SemVer precedence (absent when it
   * has none): signed, so a host can tell a server listing that hides a newer version (a freeze).
   */
  newestApproved: Version.optional(),
}));
export type StatusEntry = z.infer<typeof StatusEntry>;

/**
 * Predicate of the registry's status statement (`https://sigil.dev/attestation/status/v1`), an
 * in-toto Statement v1 signed with the registry's status key, whose subjects are the known
 * versions (`<name>@<version>`, sha256 of the manifest).
 */
export const StatusPredicate = deferSchema(() => z.strictObject({
  registry: z.string().min(1).max(2048),
  issuedAt: Timestamp,
  expiresAt: Timestamp,
  nonce: z.string().max(128).optional(),
  entries: z.array(StatusEntry).max(MAX_STATUS_REFS),
  /**
   * The registry's audit chain head when it signed: sequence number and hash of the newest event.
   * A later status (or `GET /v1/audit/verify?seq=&hash=`) with a lower sequence, or another hash
   * at this one, shows the chain was cut back or rewritten.
   */
  audit: z.strictObject({ seq: z.number().int().min(0), hash: Digest }).optional(),
}));
export type StatusPredicate = z.infer<typeof StatusPredicate>;

/** Most answers one batch signature covers, as a host accepts them (the registry signs at most 256). */
export const MAX_STATUS_BATCH = 65_536;
/** Longest base64 text of a status statement (128 KiB, the statement payload limit). */
const MAX_STATEMENT_BASE64 = 4 * Math.ceil((128 * 1024) / 3);

/**
 * Where a batched status statement sits in the batch's Merkle tree (RFC 9162 section 2.1: leaf
 * hash SHA-256(0x00 || statement bytes), interior SHA-256(0x01 || left || right)): its index,
 * the tree size the batch signature states, and the inclusion path, leaf to root.
 */
export const StatusBatchProof = deferSchema(() => z.strictObject({
  index: z.number().int().min(0).max(MAX_STATUS_BATCH - 1),
  treeSize: z.number().int().min(1).max(MAX_STATUS_BATCH),
  hashes: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(16),
}));
export type StatusBatchProof = z.infer<typeof StatusBatchProof>;

/**
 * `POST /v1/status` answer. By default one Sigstore bundle holding the signed status statement.
 * Batched (`batch: true` asked): `bundle` signs the batch (predicate
 * `https://sigil.dev/attestation/status-batch/v1`, subject the tree's root), `statement` is this
 * answer's status statement (base64 of its exact bytes) and `proof` leads it to that root.
 */
export const StatusResponse = deferSchema(() => z.strictObject({
  bundle: BundleJson,
  statement: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/).max(MAX_STATEMENT_BASE64).optional(),
  proof: StatusBatchProof.optional(),
}));
export type StatusResponse = z.infer<typeof StatusResponse>;
