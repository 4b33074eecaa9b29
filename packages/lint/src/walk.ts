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
  /** Inside a tool (its schemas included). */
  inTool: boolean;
}

const escape = (s: string | number) => String(s).replaceAll('~', '~0').replaceAll('/', '~1');
const PROSE_FIELDS = new Set(['description', 'title', 'instructions', 'placeholder', 'examples', 'example', 'enum', 'const', 'default', 'choices', 'valueHint']);
const NOT_PROSE = new Set(['$schema', 'websiteUrl', 'url', 'src', 'registryBaseUrl', 'identifier', 'fileSha256', 'mimeType', 'registryType', 'runtimeHint', 'source', 'id', 'subfolder', 'type', 'format', 'pattern', '$ref', 'name', 'version']);
const SECRET_FIELDS = new Set(['default', 'value', 'const', 'examples', 'example']);

/** Every string in the manifest (values and schema property names), depth-first, with its JSON Pointer. */
export function* manifestStrings(manifest: Manifest): Generator<ManifestString> {
  yield* walk(manifest, '', '', false, false);
}

function* walk(node: unknown, path: string, field: string, inTool: boolean, inHeaders: boolean): Generator<ManifestString> {
  if (typeof node === 'string') {
    const prose = PROSE_FIELDS.has(field) || (!NOT_PROSE.has(field) && /\s/.test(node));
    yield { path, text: node, field, kind: 'value', prose, secretBearing: SECRET_FIELDS.has(field) || (inHeaders && field === 'value'), inTool };
    return;
  }
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) yield* walk(node[i], `${path}/${i}`, field, inTool, inHeaders);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    const at = `${path}/${escape(key)}`;
    const tool = inTool || /^\/tools\/\d+$/.test(path);
    // Property names inside schemas are shown to the model too.
    if (field === 'properties') yield { path: at, text: key, field: 'key', kind: 'key', prose: false, secretBearing: false, inTool: tool };
    const headers = inHeaders || key === 'headers' || key === 'environmentVariables';
    yield* walk(value, at, key, tool, headers);
  }
}
