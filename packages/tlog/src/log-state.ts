import { type Checkpoint, openCheckpoint, type VerifiedCheckpoint } from './checkpoint.js';
import { TlogError } from './errors.js';
import { equalHashes, type Hash } from './hash.js';
import type { NoteVerifier } from './note.js';
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

/**
 * The whole host-side step in one place: open the stored checkpoint envelope (a local file that
 * must still verify under the log key) and the new one, then apply {@link checkLogExtension}.
 * With nothing stored yet the new checkpoint is accepted as the first (trust on first use of a
 * log the pinned trusted root lists). Returns the verified new checkpoint; store its
 * `envelope` only after this returns.
 * @throws TlogError `NOTE_*`, `CHECKPOINT_*` (either envelope), `LOG_ROLLBACK`, `LOG_INCONSISTENT`
 * @example
 * const { checkpoint } = acceptCheckpoint({ stored: readStored(), next: fetched, proof, logVerifier });
 * writeStored(checkpoint.envelope);
 */
export function acceptCheckpoint(input: {
  stored: string | undefined;
  next: string;
  proof: readonly Hash[];
  logVerifier: NoteVerifier;
  origin?: string;
}): { checkpoint: VerifiedCheckpoint; change: 'first' | LogExtension } {
  const options = input.origin === undefined ? {} : { origin: input.origin };
  const next = openCheckpoint(input.next, input.logVerifier, options);
  if (input.stored === undefined) return { checkpoint: next, change: 'first' };
  const stored = openCheckpoint(input.stored, input.logVerifier, options);
  return { checkpoint: next, change: checkLogExtension(stored.checkpoint, next.checkpoint, input.proof) };
}
