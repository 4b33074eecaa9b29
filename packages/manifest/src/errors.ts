import type { Finding, ManifestRefusalCode } from './findings.js';

/**
 * The only error this package throws. `code` is the contract code for the refusal and
 * `findings` lists every problem found, each with its own code and path.
 */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  readonly code: ManifestRefusalCode;
  readonly findings: readonly Finding[];

  constructor(code: ManifestRefusalCode, message: string, findings: readonly Finding[], options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.findings = findings;
  }
}
