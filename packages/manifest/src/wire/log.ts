import { z } from 'zod';
import { deferSchema } from '../defer-schema.js';

/** Most references in one `POST /v1/log/proofs` request (a host asks in chunks). */
export const MAX_LOG_PROOF_REFS = 64;

/** Most entries one answer carries: per reference a manifest entry, up to 64 approvals and a decision or two. */
const MAX_LOG_PROOF_ENTRIES = MAX_LOG_PROOF_REFS * 67;

/** Standard base64 (the tlog package decodes it strictly before use). */
const Base64 = (max: number) => z.string().max(max).regex(/^[A-Za-z0-9+/]*={0,2}$/);

/**
 * `POST /v1/log/proofs` request: the versions (`name@version`) whose signatures a host wants
 * proved in the log, and optionally the signed tree size to prove them in (default: the newest
 * checkpoint, after the one covering every entry of these versions is signed).
 */
export const LogProofsRequest = deferSchema(() => z.strictObject({
  refs: z.array(z.string().min(3).max(512)).min(1).max(MAX_LOG_PROOF_REFS),
  size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
}));
export type LogProofsRequest = z.infer<typeof LogProofsRequest>;

/**
 * One logged entry of a version with its exact body and its RFC 9162 inclusion proof in the
 * answer's tree: a signature in the `dsse` 0.0.2 form, the publisher's (`manifest`) or a
 * reviewer's approval (`approval`), the bundle's `canonicalizedBody`; or a decision the
 * registry logged as a `sigil-event` (`revocation`, `rejection`).
 */
export const LogProofEntry = deferSchema(() => z.strictObject({
  ref: z.string().min(3).max(512),
  kind: z.enum(['manifest', 'approval', 'revocation', 'rejection']),
  logIndex: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** base64 of the entry body (at most 65,535 bytes). */
  body: Base64(87_384),
  /** base64 SHA-256 hashes, leaf to root. */
  hashes: z.array(Base64(44)).max(128),
}));
export type LogProofEntry = z.infer<typeof LogProofEntry>;

/**
 * `POST /v1/log/proofs` answer: one signed checkpoint (C2SP tlog-checkpoint note, exact bytes)
 * and, for every reference asked, the entries of its manifest and approval signatures with
 * their inclusion proofs in that checkpoint's tree. Nothing here is trusted before the
 * checkpoint verifies under the log key and each proof leads to its root.
 */
export const LogProofsResponse = deferSchema(() => z.strictObject({
  checkpoint: z.string().min(1).max(256 * 1024),
  treeSize: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  entries: z.array(LogProofEntry).max(MAX_LOG_PROOF_ENTRIES),
}));
export type LogProofsResponse = z.infer<typeof LogProofsResponse>;

/**
 * `GET /v1/log/consistency?from=&to=` answer: the RFC 9162 consistency proof from the tree of
 * `from` leaves to the one of `to`, the root of `to`, and its checkpoint when one was signed at
 * exactly that size.
 */
export const LogConsistencyProof = deferSchema(() => z.strictObject({
  from: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  to: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  hashes: z.array(Base64(44)).max(128),
  rootHash: Base64(44),
  checkpoint: z.string().min(1).max(256 * 1024).optional(),
}));
export type LogConsistencyProof = z.infer<typeof LogConsistencyProof>;
