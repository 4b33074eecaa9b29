/**
 * Building blocks of the plain tests that spare zod (the manifest's here, the statements, predicates
 * and trusted root in @sigil/signing, the records, statuses, lockfile and policy in
 * @sigil/resolver): each is true only when the zod schema it stands for would accept the value and
 * give it back as it is, so a test built from them may skip zod, never overrule it.
 * @internal
 */

/** A plain object zod's object and record schemas both take as it is: no own `constructor` (zod's plain-object test reads it) nor `__proto__`. */
export function isRecordObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return (proto === Object.prototype || proto === null) && !Object.hasOwn(value, 'constructor') && !Object.hasOwn(value, '__proto__');
}

/** A plain record object (see isRecordObject) with no key outside `keys`. */
export function hasOnlyKeys(value: unknown, keys: ReadonlySet<string>): value is Record<string, unknown> {
  if (!isRecordObject(value)) return false;
  for (const key of Object.keys(value)) if (!keys.has(key)) return false;
  return true;
}

/** zod's `z.string().min(min).max(max)`: bounds in UTF-16 code units. */
export function boundedText(value: unknown, min: number, max: number): value is string {
  return typeof value === 'string' && value.length >= min && value.length <= max;
}
