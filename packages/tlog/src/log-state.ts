import type { Checkpoint } from './checkpoint.js';
import { TlogError } from './errors.js';
import { equalHashes, type Hash } from './hash.js';
import { verifyConsistency } from './verify.js';

/** What {@link checkLogExtension} found: the same tree again, or a longer one that extends it. */
export type LogExtension = 'unchanged' | 'extended';

/**
 * The client-side rule of an append-only log, checked against the newest checkpoint the client
 * accepted before (kept beside its lockfile). Both checkpoints must already be signature-checked
 * (`openCheckpoint`) for the same log: this compares trees, not signatures.
 *
 * - A smaller tree is refused as `LOG_ROLLBACK`: the log shrank, or an old view is replayed.
 * - The same size with another root is refused as `LOG_INCONSISTENT`: a fork (split view).
 * - A larger tree is accepted only with a consistency proof (RFC 9162 section 2.1.4.2) that
 *   the stored tree is its prefix; otherwise `LOG_INCONSISTENT`.
 *
 * Store the new checkpoint only after this returns.
 * @throws TlogError `LOG_ROLLBACK`, `LOG_INCONSISTENT`
 * @example
 * const next = openCheckpoint(envelope, logVerifier).checkpoint;
 * checkLogExtension(stored, next, consistencyProofFromLog);
 * save(envelope);
 */
export function checkLogExtension(stored: Checkpoint, next: Checkpoint, proof: readonly Hash[]): LogExtension {
  if (stored.origin !== next.origin) {
    throw new TlogError('LOG_INCONSISTENT', `the new checkpoint is for log ${JSON.stringify(next.origin.slice(0, 80))}, the stored one for ${JSON.stringify(stored.origin)}`);
  }
  if (next.size < stored.size) {
    throw new TlogError('LOG_ROLLBACK', `the log shrank from ${stored.size} to ${next.size} entries`);
  }
  if (next.size === stored.size) {
    if (!equalHashes(stored.root, next.root)) throw new TlogError('LOG_INCONSISTENT', `the log has two different trees of size ${next.size} (a fork)`);
    return 'unchanged';
  }
  try {
    verifyConsistency(stored.size, next.size, proof, stored.root, next.root);
  } catch (cause) {
    throw new TlogError('LOG_INCONSISTENT', `the tree of size ${next.size} is not an extension of the stored tree of size ${stored.size}`, { cause });
  }
  return 'extended';
}
