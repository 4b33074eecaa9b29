/**
 * Why a log operation refused. Stable and machine-readable; the sentence is in `message`.
 * `LOG_INCONSISTENT` and `LOG_ROLLBACK` are also contract codes (what a host reports when a log
 * it follows forks or shrinks); the others are this package's finer reasons.
 */
export type TlogErrorCode =
  /** An inclusion proof does not lead from the leaf to the root, or its shape is wrong for the index and size. */
  | 'INCLUSION_PROOF_INVALID'
  /** A consistency proof does not lead from the old root to the new one, or its shape is wrong for the sizes. */
  | 'CONSISTENCY_PROOF_INVALID'
  /** A leaf index or tree size is out of range (negative, not an integer, past the tree, or above 2^53 - 1). */
  | 'RANGE_INVALID'
  /** The node-hash store lacks a hash the tree needs, or returned one of the wrong length. */
  | 'NODE_MISSING'
  /** A tile path, tile body or entry bundle is malformed, or does not match the size it is read at. */
  | 'TILE_INVALID'
  /** A signed note is malformed (encoding, control characters, separator, signature lines, size). */
  | 'NOTE_MALFORMED'
  /** A signature from a trusted key (same name and key id) does not verify: the whole note is refused. */
  | 'NOTE_SIGNATURE_INVALID'
  /** No signature from a trusted key is on the note. */
  | 'NOTE_UNVERIFIED'
  /** A key name, verifier key (vkey) or Ed25519 key is malformed. */
  | 'KEY_INVALID'
  /** A checkpoint body is malformed (origin, size, root hash or extension lines). */
  | 'CHECKPOINT_MALFORMED'
  /** A checkpoint is for another log: its origin is not the one expected. */
  | 'CHECKPOINT_ORIGIN_MISMATCH'
  /** A log entry body or its input (envelope, verifier, digest) is malformed or too large. */
  | 'ENTRY_INVALID'
  /** A log entry is well formed but records another signature or payload than the one it is offered for. */
  | 'ENTRY_MISMATCH'
  /** A new checkpoint is not a consistent extension of the one stored (a fork, or a bad proof). */
  | 'LOG_INCONSISTENT'
  /** A new checkpoint is smaller than the one stored: the log was shrunk or an old view replayed. */
  | 'LOG_ROLLBACK';

/**
 * The only error this package throws. Every throw from node:crypto or a decoder is wrapped
 * here and kept as `cause`, so nothing uncoded escapes a verification step.
 * @example
 * try { verifyInclusion(index, size, leafHash, proof, root) }
 * catch (e) { if (e instanceof TlogError && e.code === 'INCLUSION_PROOF_INVALID') … }
 */
export class TlogError extends Error {
  override readonly name = 'TlogError';
  readonly code: TlogErrorCode;

  constructor(code: TlogErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
