import { createHash } from 'node:crypto';
import type { Digest, Manifest, Tool } from './schema.js';

/** A value RFC 8785 cannot canonicalise: not JSON data (a function, NaN, a lone surrogate…). */
export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
  readonly code = 'JSON_NOT_CANONICALISABLE';
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * RFC 8785 (JSON Canonicalization Scheme) text of a JSON value: object keys sorted by UTF-16
 * code units (3.2.3), no whitespace, numbers as ECMAScript `Number.prototype.toString` (3.2.2.3),
 * strings with the JSON.stringify escapes (3.2.2.2).
 *
 * The value is treated as data: only own enumerable properties of plain objects count, and no
 * `toJSON` method, prototype or class is consulted, so `{"toJSON": …}` or `{"__proto__": …}` in
 * a manifest are keys like any other. Properties whose value is `undefined` are left out, as
 * JSON.stringify does; anything else that is not JSON (functions, symbols, bigints, NaN,
 * Infinity, lone surrogates, class instances, cycles) throws CanonicalJsonError.
 * @example canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  serialise(value, parts, new Set());
  return parts.join('');
}

function serialise(value: unknown, out: string[], open: Set<object>): void {
  switch (typeof value) {
    case 'string':
      if (LONE_SURROGATE.test(value)) throw new CanonicalJsonError('a string holds a lone UTF-16 surrogate, which RFC 8785 forbids');
      out.push(JSON.stringify(value));
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${value} is not a JSON number`);
      // ES Number::toString is the RFC 8785 form; -0 becomes "0" (3.2.2.3).
      out.push(Object.is(value, -0) ? '0' : String(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'object':
      break;
    default:
      throw new CanonicalJsonError(`a ${typeof value} is not JSON data`);
  }
  if (value === null) {
    out.push('null');
    return;
  }
  if (open.has(value)) throw new CanonicalJsonError('the value contains a cycle');
  open.add(value);
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      const item: unknown = value[i];
      // As JSON.stringify: a hole or undefined in an array is null.
      if (item === undefined) out.push('null');
      else serialise(item, out, open);
    }
    out.push(']');
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw new CanonicalJsonError('only plain objects are JSON data');
    const record = value as Record<string, unknown>;
    // Default sort compares UTF-16 code units, as RFC 8785 3.2.3 requires.
    const keys = Object.keys(record).sort();
    out.push('{');
    let first = true;
    for (const key of keys) {
      const item = Object.getOwnPropertyDescriptor(record, key)!.value as unknown;
      if (item === undefined) continue;
      if (!first) out.push(',');
      first = false;
      serialise(key, out, open);
      out.push(':');
      serialise(item, out, open);
    }
    out.push('}');
  }
  open.delete(value);
}

/** `sha256:<hex>` of bytes, or of a string's UTF-8 encoding. */
export function sha256(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Hex part of a `sha256:<hex>` digest. */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

/**
 * Digest of a manifest: sha256 over its RFC 8785 canonical JSON. Key order and whitespace in the
 * file never change it; any change of content does.
 * @example manifestDigest(parseManifest(text)) // 'sha256:5f1c…'
 */
export function manifestDigest(manifest: Manifest): Digest {
  return sha256(canonicalJson(manifest));
}

/** Digest of one tool definition, in the same canonical form. */
export function toolDigest(tool: Tool): Digest {
  return sha256(canonicalJson(tool));
}

/**
 * Digest of the set of tools: sha256 over the canonical JSON of the sorted list of tool digests.
 * Reordering tools does not change it; adding, removing, renaming or changing any tool does.
 */
export function toolsSetDigest(tools: readonly Tool[]): Digest {
  return sha256(canonicalJson(tools.map(toolDigest).sort()));
}
