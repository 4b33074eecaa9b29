import { DIGEST_PATTERN, TIMESTAMP_PATTERN, versionProblem } from '@sigil/manifest';

/**
 * Building blocks of the plain tests that spare zod (plainEnvelope, plainLockfile,
 * plainStatusPredicate): each is true only when the zod schema it stands for would accept the
 * value and give it back as it is, so a test built from them may skip zod, never overrule it.
 */

/** A plain object zod's object and record schemas both take as it is: no own `constructor` (zod's plain-object test reads it) nor `__proto__`. */
export function isRecordObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return (proto === Object.prototype || proto === null) && !Object.hasOwn(value, 'constructor') && !Object.hasOwn(value, '__proto__');
}

/** A plain record object with no key outside `keys` (zod's strict objects refuse, its loose ones strip, any other). */
export function hasOnlyKeys(value: unknown, keys: ReadonlySet<string>): value is Record<string, unknown> {
  if (!isRecordObject(value)) return false;
  for (const key of Object.keys(value)) if (!keys.has(key)) return false;
  return true;
}

/** zod's `z.string().min(min).max(max)`: bounds in UTF-16 code units. */
export function boundedText(value: unknown, min: number, max: number): value is string {
  return typeof value === 'string' && value.length >= min && value.length <= max;
}

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
