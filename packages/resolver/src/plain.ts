import { DIGEST_PATTERN, TIMESTAMP_PATTERN, versionProblem } from '@sigil/manifest';

export { boundedText, hasOnlyKeys, isRecordObject } from '@sigil/manifest';

/**
 * Building blocks of the plain tests that spare zod (plainEnvelope, plainLockfile,
 * plainStatusPredicate): each is true only when the zod schema it stands for would accept the
 * value and give it back as it is, so a test built from them may skip zod, never overrule it.
 */

/** The Digest schema: `sha256:` and 64 lowercase hex digits. */
export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST_PATTERN.test(value);
}

/** An array of at most `max` digests (`z.array(Digest).max(max)`); an index loop, since every() skips the holes zod refuses. */
export function isDigestList(value: unknown, max: number): value is string[] {
  if (!Array.isArray(value) || value.length > max) return false;
  for (let i = 0; i < value.length; i++) if (!isDigest(value[i])) return false;
  return true;
}

/** The Version schema (exact SemVer, by the same rule function). */
export function isVersion(value: unknown): value is string {
  return typeof value === 'string' && versionProblem(value) === undefined;
}

/** The Timestamp schema: zod's own date-time pattern (TIMESTAMP_PATTERN), without building the schema. */
export function isTimestamp(value: unknown): value is string {
  return typeof value === 'string' && TIMESTAMP_PATTERN.test(value);
}
