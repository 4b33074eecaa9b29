/** Machine-readable codes carried by manifest findings. */
export type FindingCode =
  | 'JSON_INVALID'
  | 'JSON_TOO_DEEP'
  | 'JSON_DUPLICATE_KEY'
  | 'STRING_INVALID'
  | 'MANIFEST_TOO_LARGE'
  | 'TOOLS_TOO_MANY'
  | 'DESCRIPTION_TOO_LONG'
  | 'INSTRUCTIONS_TOO_LONG'
  | 'NAME_INVALID'
  | 'VERSION_INVALID'
  | 'MANIFEST_INVALID'
  | 'KEY_UNKNOWN'
  | 'TOOL_DUPLICATE';

export type Severity = 'error' | 'warning' | 'info';

/**
 * One problem found in a manifest. Findings are data, not exceptions: a check reports every
 * finding it can, so a publisher fixes them all in one round.
 * `path` is a JSON Pointer (RFC 6901) into the manifest; `''` is the whole document.
 */
export interface Finding {
  path: string;
  code: FindingCode;
  message: string;
  severity: Severity;
}

/** Builds a JSON Pointer from path segments, escaping `~` and `/` as RFC 6901 requires. */
export function pointer(segments: ReadonlyArray<string | number>): string {
  return segments.map((s) => '/' + String(s).replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

/** True when any finding is an error. */
export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

const LIMIT_CODES: ReadonlySet<FindingCode> = new Set([
  'MANIFEST_TOO_LARGE',
  'TOOLS_TOO_MANY',
  'DESCRIPTION_TOO_LONG',
  'INSTRUCTIONS_TOO_LONG',
  'JSON_TOO_DEEP',
]);

/** The contract error code (CONTRACT.md "Error codes") that refuses a manifest with these findings. */
export type ManifestRefusalCode = 'MANIFEST_TOO_LARGE' | 'NAME_INVALID' | 'VERSION_INVALID' | 'MANIFEST_INVALID';

/**
 * Chooses the one contract code for a refused manifest: a crossed limit first (the payload is
 * refused for its size before anything else), then an invalid name or version, then the rest.
 */
export function refusalCode(findings: readonly Finding[]): ManifestRefusalCode {
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.some((f) => LIMIT_CODES.has(f.code))) return 'MANIFEST_TOO_LARGE';
  if (errors.some((f) => f.code === 'NAME_INVALID')) return 'NAME_INVALID';
  if (errors.some((f) => f.code === 'VERSION_INVALID')) return 'VERSION_INVALID';
  return 'MANIFEST_INVALID';
}
