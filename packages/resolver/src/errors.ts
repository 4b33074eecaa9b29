/** Refusal codes of the resolver (CONTRACT.md, "Resolver and sigil resolve/sigil run"), plus its own input errors. */
export type ResolveErrorCode =
  | 'UNSIGNED'
  | 'SIGNATURE_INVALID'
  | 'SIGNER_UNTRUSTED'
  | 'DIGEST_MISMATCH'
  | 'NAME_MISMATCH'
  | 'NOT_APPROVED'
  | 'NOT_FOUND'
  | 'REVOKED'
  | 'ROLLBACK'
  | 'STATUS_STALE'
  /** The lockfile changed while `lock` or `lock --update` ran (another run of this host wrote it): nothing of this run is written. */
  | 'LOCKFILE_CHANGED'
  | 'RESPONSE_TOO_LARGE'
  | 'REGISTRY_UNREACHABLE'
  /** A token would go in clear text: plain http to a host that is not this machine's loopback. Nothing was sent. */
  | 'TOKEN_INSECURE'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'REGISTRY_ERROR'
  | 'FREEZE_SUSPECTED'
  | 'STORE_INVALID'
  /** A directory or file of the host store is writable by its group or by others, or owned by another user than this process's (or root). */
  | 'STORE_UNSAFE'
  | 'TOOL_DRIFT'
  | 'POLICY_INVALID'
  | 'LOCKFILE_INVALID'
  | 'NOT_LOCKED'
  | 'RESPONSE_INVALID'
  /** The log's new checkpoint is not an extension of the one this host accepted (a fork, or a bad consistency proof). */
  | 'LOG_INCONSISTENT'
  /** The log's new checkpoint is smaller than the one this host accepted (the log shrank, or an old view is replayed). */
  | 'LOG_ROLLBACK'
  /** A signature the host relies on (the manifest's, a counted approval's) has no entry in the log. */
  | 'LOG_ENTRY_MISSING'
  /** A log entry offered for a signature records another one, or its inclusion proof does not lead to the accepted checkpoint. */
  | 'LOG_ENTRY_INVALID';

/** Why one server was refused. */
export interface Refusal {
  name: string;
  code: ResolveErrorCode;
  message: string;
  /** Extra facts for the code, e.g. the tool diff for `TOOL_DRIFT`. */
  details?: unknown;
}

/**
 * The only error the resolver throws. A resolution either returns only verified manifests or
 * throws this with every refused server listed; `code` is the first refusal's code.
 */
export class ResolveError extends Error {
  override readonly name = 'ResolveError';
  readonly code: ResolveErrorCode;
  readonly refusals: readonly Refusal[];

  constructor(refusals: readonly Refusal[], options?: { cause?: unknown }) {
    const first = refusals[0] ?? { name: '', code: 'POLICY_INVALID' as const, message: 'refused' };
    // One refusal reads as its own sentence, led by the server's name unless the sentence names it already.
    const message = refusals.length === 1 ? `${first.name && !first.message.includes(first.name) ? `${first.name}: ` : ''}${first.message}` : `${refusals.length} servers refused: ${refusals.map((r) => `${r.name} ${r.code}`).join(', ')}`;
    super(message, options);
    this.code = first.code;
    this.refusals = refusals;
  }

  /** A refusal of one server. */
  static of(name: string, code: ResolveErrorCode, message: string, details?: unknown, cause?: unknown): ResolveError {
    return new ResolveError([{ name, code, message, ...(details === undefined ? {} : { details }) }], cause === undefined ? undefined : { cause });
  }
}
