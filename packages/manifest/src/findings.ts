import { z } from 'zod';
import { deferSchema } from './defer-schema.js';

/** Rules of the manifest format check (the lint adds its own, such as `hidden-tag-characters`). */
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

export const Severity = deferSchema(() => z.enum(['error', 'warning', 'info']));
export type Severity = z.infer<typeof Severity>;

/**
 * One problem found in a manifest, by the format check or the lint: the one findings shape of
 * the project (manifest, lint, registry answers and the CLI all use it). Findings are data, not
 * exceptions: a check reports every finding it can, so a publisher fixes them all in one round.
 * `path` is a JSON Pointer (RFC 6901) into the manifest, `''` the whole document; `rule` a stable
 * machine-readable id; `excerpt`, when present, the original text around the match with hidden
 * and control characters escaped (safe to print; never a secret).
 * @example { path: '/tools/0/description', rule: 'conceal-from-user', severity: 'warning', message: '…', excerpt: '…do not tell the user…' }
 */
export const Finding = deferSchema(() => z.object({
  path: z.string().max(4096),
  rule: z.string().min(1).max(64),
  severity: Severity,
  message: z.string().max(4096),
  excerpt: z.string().max(1024).optional(),
}));
export type Finding = z.infer<typeof Finding>;

/** Builds a JSON Pointer from path segments, escaping `~` and `/` as RFC 6901 requires. */
export function pointer(segments: ReadonlyArray<string | number>): string {
  return segments.map((s) => '/' + String(s).replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

/** True when any finding is an error. */
export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

const LIMIT_CODES: ReadonlySet<string> = new Set<FindingCode>([
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
  if (errors.some((f) => LIMIT_CODES.has(f.rule))) return 'MANIFEST_TOO_LARGE';
  if (errors.some((f) => f.rule === 'NAME_INVALID')) return 'NAME_INVALID';
  if (errors.some((f) => f.rule === 'VERSION_INVALID')) return 'VERSION_INVALID';
  return 'MANIFEST_INVALID';
}
