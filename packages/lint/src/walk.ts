import type { Manifest } from '@sigil/manifest';

/** One string of a manifest, where it is, and what kind of field holds it. */
export interface ManifestString {
  path: string;
  text: string;
  /** `key` for a property name inside a schema; otherwise the key of the field holding the value. */
  field: string;
  kind: 'value' | 'key';
  /** Prose shown to the model (descriptions, titles, instructions, schema text), as opposed to URLs and identifiers. */
  prose: boolean;
  /** A field that may carry a configured value (defaults, values, headers, environment). */
  secretBearing: boolean;
  /** The index of the tool holding it, or -1. */
  tool: number;
  /** For a property name: the property's own schema (its type says whether it can carry text). */
  schema?: unknown;
}

const NEEDS_ESCAPE = /[~/]/;
const escape = (s: string) => (NEEDS_ESCAPE.test(s) ? s.replaceAll('~', '~0').replaceAll('/', '~1') : s);
const PROSE_FIELDS = new Set(['description', 'title', 'instructions', 'placeholder', 'examples', 'example', 'enum', 'const', 'default', 'choices', 'valueHint']);
const NOT_PROSE = new Set(['$schema', 'websiteUrl', 'url', 'src', 'registryBaseUrl', 'identifier', 'fileSha256', 'mimeType', 'registryType', 'runtimeHint', 'source', 'id', 'subfolder', 'type', 'format', 'pattern', '$ref', 'name', 'version', 'required']);
const SECRET_FIELDS = new Set(['default', 'value', 'const', 'examples', 'example']);
const HAS_SPACE = /\s/;

/** Every string in the manifest (values and schema property names), depth-first, in document order, with its JSON Pointer. */
export function manifestStrings(manifest: Manifest): ManifestString[] {
  const out: ManifestString[] = [];
  walk(manifest, '', '', -1, false, out);
  return out;
}

/** Appends the strings under `node` (at `path`, held by `field`) to `out`. */
export function walk(node: unknown, path: string, field: string, tool: number, inHeaders: boolean, out: ManifestString[]): void {
  if (typeof node === 'string') {
    const prose = PROSE_FIELDS.has(field) || (!NOT_PROSE.has(field) && HAS_SPACE.test(node));
    out.push({ path, text: node, field, kind: 'value', prose, secretBearing: SECRET_FIELDS.has(field) || (inHeaders && field === 'value'), tool });
    return;
  }
  if (Array.isArray(node)) {
    const tools = tool < 0 && path === '/tools';
    for (let i = 0; i < node.length; i++) walk(node[i], `${path}/${i}`, field, tools ? i : tool, inHeaders, out);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const key in node) {
    if (!Object.hasOwn(node, key)) continue;
    const value = (node as Record<string, unknown>)[key];
    const at = `${path}/${escape(key)}`;
    // Property names inside schemas are shown to the model too.
    if (field === 'properties') out.push({ path: at, text: key, field: 'key', kind: 'key', prose: false, secretBearing: false, tool, schema: value });
    walk(value, at, key, tool, inHeaders || key === 'headers' || key === 'environmentVariables', out);
  }
}
