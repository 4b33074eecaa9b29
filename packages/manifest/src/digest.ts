import { hash } from 'node:crypto';
import type { Digest, Manifest, Tool } from './schema.js';

/** A value RFC 8785 cannot canonicalise: not JSON data (a function, NaN, a lone surrogate…). */
export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
  readonly code = 'JSON_NOT_CANONICALISABLE';
}

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
  return serialise(value, new Set());
}

/** The two digests of a manifest, computed together (see {@link manifestDigests}). */
export interface ManifestDigests {
  /** {@link manifestDigest}: sha256 of the whole manifest's canonical JSON. */
  digest: Digest;
  /** {@link toolsSetDigest}: sha256 of the canonical JSON of the sorted tool digests. */
  toolsDigest: Digest;
}

type WellFormedString = string & { isWellFormed(): boolean };

// Built by string concatenation rather than an array of parts joined at the end: a host
// recomputes the digest of every locked manifest at each start, and this allocates less.
function serialise(value: unknown, open: Set<object>, toolsText?: string): string {
  switch (typeof value) {
    case 'string':
      // String.prototype.isWellFormed (ES2024, Node 20+): false exactly when a lone surrogate is in it.
      if (!(value as WellFormedString).isWellFormed()) throw new CanonicalJsonError('a string holds a lone UTF-16 surrogate, which RFC 8785 forbids');
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${value} is not a JSON number`);
      // ES Number::toString is the RFC 8785 form; -0 becomes "0" (3.2.2.3).
      return Object.is(value, -0) ? '0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw new CanonicalJsonError(`a ${typeof value} is not JSON data`);
  }
  if (value === null) return 'null';
  if (open.has(value)) throw new CanonicalJsonError('the value contains a cycle');
  open.add(value);
  let out: string;
  if (Array.isArray(value)) {
    out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item: unknown = value[i];
      // As JSON.stringify: a hole or undefined in an array is null.
      out += item === undefined ? 'null' : serialise(item, open);
    }
    out += ']';
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw new CanonicalJsonError('only plain objects are JSON data');
    const record = value as Record<string, unknown>;
    // Default sort compares UTF-16 code units, as RFC 8785 3.2.3 requires.
    const keys = Object.keys(record).sort();
    out = '{';
    let first = true;
    for (const key of keys) {
      const item = Object.getOwnPropertyDescriptor(record, key)!.value as unknown;
      if (item === undefined) continue;
      if (!first) out += ',';
      first = false;
      // manifestDigests: the top-level tools array, already serialised (its canonical text is its
      // elements' texts, in order, between brackets).
      out += `${serialise(key, open)}:${toolsText !== undefined && key === 'tools' ? toolsText : serialise(item, open)}`;
    }
    out += '}';
  }
  open.delete(value);
  return out;
}

/** `sha256:<hex>` of bytes, or of a string's UTF-8 encoding. */
export function sha256(data: string | Uint8Array): Digest {
  // One-shot crypto.hash (Node 20.12+): about half the CPU of createHash for the small inputs a
  // host hashes at each start (every tool of every locked manifest).
  return `sha256:${hash('sha256', data, 'hex')}`;
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

/**
 * {@link manifestDigest} and {@link toolsSetDigest} of one manifest, equal to calling both, with
 * each tool serialised once instead of twice: a host recomputes both for every locked manifest at
 * each start.
 * @example const { digest, toolsDigest } = manifestDigests(manifest);
 */
export function manifestDigests(manifest: Manifest): ManifestDigests {
  const { digest, toolsDigest } = canonicalManifest(manifest);
  return { digest, toolsDigest };
}

/** A manifest's RFC 8785 canonical JSON text (what {@link canonicalJson} gives) with its two digests. */
export interface CanonicalManifest extends ManifestDigests {
  text: string;
}

/**
 * {@link canonicalJson} of a manifest and {@link manifestDigests}, from one serialisation: a
 * registry stores the text and checks the signed digests at each publish.
 * @example const { text, digest, toolsDigest } = canonicalManifest(manifest);
 */
export function canonicalManifest(manifest: Manifest): CanonicalManifest {
  const open = new Set<object>([manifest, manifest.tools]);
  const tools = manifest.tools.map((tool) => serialise(tool, open));
  const toolsDigest = sha256(canonicalJson(tools.map((text) => sha256(text)).sort()));
  const text = serialise(manifest, new Set(), `[${tools.join(',')}]`);
  return { text, digest: sha256(text), toolsDigest };
}

/** Where one tool of a canonical tools array ends and the next begins: a tool's first key (sorted) is one of these. */
const NEXT_TOOL = /\},\{"(?=_meta"|annotations"|description"|inputSchema")/;

/**
 * {@link manifestDigests} of a manifest stored as its RFC 8785 canonical JSON `text`, hashed as it
 * is instead of serialised again, when they are the digests the caller already trusts (`pinned`:
 * a lockfile's pins); otherwise undefined, and the caller parses the manifest and computes both
 * digests from it. Why the bytes can be trusted: the pinned digest is the SHA-256 of the pinned
 * manifest's canonical text, and SHA-256 is collision resistant, so a text with that SHA-256 is
 * that very text and `JSON.parse(text)` is the pinned manifest. The tools array is then cut into
 * tools where a tool's first key follows `},{`; a cut a schema inside a tool could fool only gives
 * other pieces, whose tools-set digest is not the pinned one (collision resistance again), so a
 * tools-set digest equal to the pin is the pinned manifest's own. `toolCount` is the number of
 * tools of the manifest parsed from `text`.
 * @example
 * const stored = canonicalManifestDigests(text, JSON.parse(text).tools.length, { digest: lock.digest, toolsDigest: lock.toolsDigest });
 */
export function canonicalManifestDigests(text: string, toolCount: number, pinned: ManifestDigests): ManifestDigests | undefined {
  if (sha256(text) !== pinned.digest) return undefined;
  // Canonical key order: "tools" is the last key but "version" (the manifest schema's keys after
  // it hold strings only); a manifest of other keys only misses the shortcut.
  const start = text.indexOf(',"tools":[{');
  const end = text.lastIndexOf('}],"version":"');
  if (start < 0 || end < start || toolCount < 1) return undefined;
  const parts = text.slice(start + 10, end + 1).split(NEXT_TOOL);
  if (parts.length !== toolCount) return undefined;
  const last = parts.length - 1;
  const digests = parts.map((part, i) => sha256(`${i === 0 ? '' : '{"'}${part}${i === last ? '' : '}'}`));
  const toolsDigest = sha256(canonicalJson(digests.sort()));
  return toolsDigest === pinned.toolsDigest ? { digest: pinned.digest, toolsDigest } : undefined;
}
