/**
 * Why a signing or verification step refused. Stable, machine-readable; the sentence is in
 * `message`. Codes that are also contract codes (CONTRACT.md "Error codes") keep their meaning;
 * the others (`BUNDLE_INVALID`, `TIMESTAMP_INVALID`, …) are finer reasons that callers facing
 * the contract map with {@link contractCode}.
 */
export type SigningErrorCode =
  /** The bundle is not a well-formed Sigstore bundle (bad JSON, truncated, wrong shape or media type, too large). */
  | 'BUNDLE_INVALID'
  /** A signature does not verify, or the bundle does not carry exactly one. */
  | 'SIGNATURE_INVALID'
  /** The signature verifies but its signer is not allowed by the policy (key, CA or identity). */
  | 'SIGNER_UNTRUSTED'
  /** The statement's subject digest is not the digest of the manifest being verified. */
  | 'SUBJECT_MISMATCH'
  /** The statement is about another server name or version. */
  | 'NAME_MISMATCH'
  /** A reviewer named the digest they reviewed, and the version to approve now has another. */
  | 'REVIEW_MISMATCH'
  /** The DSSE payload type, the statement or its predicate is not what was expected. */
  | 'STATEMENT_INVALID'
  /** SLSA provenance does not parse or does not satisfy the provenance policy. */
  | 'PROVENANCE_INVALID'
  /** A transparency log entry does not verify: unknown log, bad checkpoint or inclusion proof, or the entry of another signature. */
  | 'LOG_ENTRY_INVALID'
  /** A timestamp is missing, does not verify, comes from an untrusted TSA or falls outside the certificate's validity. */
  | 'TIMESTAMP_INVALID'
  /** A certificate chain does not verify to a trusted CA, or a certificate is unfit for its use. */
  | 'CERTIFICATE_INVALID'
  /** There is no signature where one is required. */
  | 'UNSIGNED'
  /** A key, certificate or PEM file is malformed or of the wrong type (ECDSA P-256 only). */
  | 'KEY_INVALID'
  /** A signer policy or trusted root does not parse. */
  | 'POLICY_INVALID'
  /** A timestamp request to our responder is malformed or unsupported. */
  | 'TIMESTAMP_REQUEST_INVALID'
  /** Signing failed (the signer, the TSA or the bundle builder threw). */
  | 'SIGNING_FAILED'
  /** A file to write already exists (keys and CAs are never overwritten). */
  | 'FILE_EXISTS'
  /** A file could not be read or written. */
  | 'IO_FAILED';

/**
 * The only error this package throws. Every third-party throw is wrapped at the package edge and
 * kept as `cause`, so a library `TypeError` can never pass as "verified" nor escape uncoded.
 * @example
 * try { verifyManifestBundle(bundle, manifest, policy) }
 * catch (e) { if (e instanceof SigningError && e.code === 'SIGNER_UNTRUSTED') … }
 */
export class SigningError extends Error {
  override readonly name = 'SigningError';
  readonly code: SigningErrorCode;

  constructor(code: SigningErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * The contract code (CONTRACT.md) for a signing error: the finer library reasons about a bad
 * bundle, timestamp or certificate are all `SIGNATURE_INVALID` to registry clients and hosts.
 * @example contractCode(new SigningError('TIMESTAMP_INVALID', '…')) // 'SIGNATURE_INVALID'
 */
export function contractCode(error: SigningError): string {
  switch (error.code) {
    case 'BUNDLE_INVALID':
    case 'STATEMENT_INVALID':
    case 'TIMESTAMP_INVALID':
    case 'CERTIFICATE_INVALID':
    case 'KEY_INVALID':
      return 'SIGNATURE_INVALID';
    default:
      return error.code;
  }
}

/** Runs `fn`, turning anything but a SigningError it throws into one with `code` and the cause kept. */
export function wrap<T>(code: SigningErrorCode, message: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    if (cause instanceof SigningError) throw cause;
    throw new SigningError(code, `${message}: ${describe(cause)}`, { cause });
  }
}

/** The async twin of {@link wrap}. */
export async function wrapAsync<T>(code: SigningErrorCode, message: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    if (cause instanceof SigningError) throw cause;
    throw new SigningError(code, `${message}: ${describe(cause)}`, { cause });
  }
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.message.slice(0, 500);
  return String(cause).slice(0, 500);
}
