import type { Finding } from '@sigil/manifest';

/** Exit codes of `sigil` (CONTRACT.md "Command line"). */
export const EXIT = { ok: 0, refused: 1, usage: 2 } as const;

/**
 * A refusal or failure the CLI reports as `CODE: sentence` (or JSON with `--json`) and exit 1.
 * `code` is a stable machine-readable code from the contract or from the library that refused.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: string,
    message: string,
    readonly findings: readonly Finding[] = [],
    readonly exitCode: number = EXIT.refused,
    options?: { cause?: unknown; requestId?: string },
  ) {
    super(message, options);
    if (options?.requestId) this.requestId = options.requestId;
  }

  /** The registry's request id when the registry refused: always printed, so people can quote it. */
  readonly requestId?: string;
}

/** A wrong use of the command line: exit 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super('USAGE', message, [], EXIT.usage);
  }
}
