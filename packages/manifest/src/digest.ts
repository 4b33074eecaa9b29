import { createHash } from 'node:crypto';
import { canonicalize } from 'json-canonicalize';
import type { Digest, Manifest, Tool } from './schema.js';

/**
 * RFC 8785 (JSON Canonicalization Scheme) text of a JSON value: keys sorted by UTF-16 code
 * units, no whitespace, ECMAScript number and string serialisation.
 */
export function canonicalJson(value: unknown): string {
  return canonicalize(value);
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
