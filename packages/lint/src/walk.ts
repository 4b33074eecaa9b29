import type { Manifest } from '@sigil/manifest';

/** One string of a manifest, where it is, and what kind of field holds it. */
export interface ManifestString {
  path: string;
  text: string;
  /**
   * `key` for a property name inside a schema, `required` for a name in a `required` list,
   * `keyword` for any other object key that is not a JSON Schema or manifest keyword; otherwise
   * the key of the field holding the value.
   */
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
/** Objects whose keys are names chosen by the publisher (schema maps, `_meta`): every key is read. */
const NAME_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas', 'dependentRequired', '_meta']);
/**
 * Keys that are JSON Schema (2020-12 and draft-07) or manifest vocabulary; any other key is a name
 * the publisher chose, shown to the model like a value (CyberArk's full-schema poisoning puts
 * instructions in names as well as in values).
 */
const KEYWORDS = new Set([
  '$schema', '$id', '$ref', '$anchor', '$dynamicRef', '$dynamicAnchor', '$vocabulary', '$comment', '$defs', 'definitions', 'type', 'enum', 'const',
  'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems',
  'maxContains', 'minContains', 'maxProperties', 'minProperties', 'required', 'dependentRequired', 'dependencies', 'allOf', 'anyOf', 'oneOf', 'not', 'if', 'then',
  'else', 'dependentSchemas', 'prefixItems', 'items', 'additionalItems', 'contains', 'properties', 'patternProperties', 'additionalProperties',
  'propertyNames', 'unevaluatedItems', 'unevaluatedProperties', 'format', 'contentEncoding', 'contentMediaType', 'contentSchema', 'title', 'description',
  'default', 'deprecated', 'readOnly', 'writeOnly', 'examples', 'example', 'nullable', 'discriminator', 'xml', 'externalDocs',
  // The manifest's own fields (schema.ts), for code that lints a value before the wire schema has checked it.
  'name', 'version', 'websiteUrl', 'repository', 'icons', 'packages', 'remotes', 'instructions', 'tools', 'url', 'source', 'id', 'subfolder', 'src', 'mimeType',
  'sizes', 'theme', 'isRequired', 'value', 'isSecret', 'placeholder', 'choices', 'variables', 'valueHint', 'isRepeated', 'headers', 'registryType',
  'registryBaseUrl', 'identifier', 'fileSha256', 'runtimeHint', 'transport', 'runtimeArguments', 'packageArguments', 'environmentVariables',
  'inputSchema', 'outputSchema', 'annotations', 'readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint',
]);

/**
 * A tool's fields in the order a model is shown them (its name, title and description, then its
 * schemas: as LLM APIs take a tool), whatever order its JSON has them in, so text split over the
 * description and a schema is read as the model reads it (the manifest digest ignores key order).
 */
const TOOL_READING_ORDER = ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations', '_meta'];
function toolKeys(tool: object): string[] {
  const own = Object.keys(tool);
  return [...TOOL_READING_ORDER.filter((k) => Object.hasOwn(tool, k)), ...own.filter((k) => !TOOL_READING_ORDER.includes(k))];
}

/**
 * Objects and arrays nested deeper than this are not read (twice the manifest format's own bound
 * of 32, which the registry and the CLI check first). The bound keeps the walk's recursion, and
 * the JSON Pointers it builds, small for a value handed to the library directly, nested thousands
 * deep or holding itself; the lint reports where it stopped (`nesting-depth`, an error).
 */
export const MAX_NESTING = 64;

/** Every string in the manifest (values and schema property names), depth-first, in document order, with its JSON Pointer. */
export function manifestStrings(manifest: Manifest): ManifestString[] {
  const out: ManifestString[] = [];
  walk(manifest, '', '', -1, false, out, false, 0);
  return out;
}

/**
 * Appends the strings under `node` (at `path`, held by `field`, inside `depth` objects and arrays)
 * to `out`. Answers the path of the first object or array it did not enter, past MAX_NESTING; what
 * lies beside it is still read.
 */
export function walk(node: unknown, path: string, field: string, tool: number, inHeaders: boolean, out: ManifestString[], inMeta: boolean, depth: number): string | undefined {
  if (typeof node === 'string') {
    const prose = PROSE_FIELDS.has(field) || (!NOT_PROSE.has(field) && HAS_SPACE.test(node));
    out.push({ path, text: node, field, kind: 'value', prose, secretBearing: SECRET_FIELDS.has(field) || (inHeaders && field === 'value'), tool });
    return undefined;
  }
  if (node === null || typeof node !== 'object') return undefined;
  if (depth >= MAX_NESTING) return path;
  let tooDeep: string | undefined;
  if (Array.isArray(node)) {
    if (field === 'required') {
      // Names in a `required` list are read like property names (they need not match a property).
      for (let i = 0; i < node.length; i++) {
        const name: unknown = node[i];
        if (typeof name === 'string') out.push({ path: `${path}/${i}`, text: name, field: 'required', kind: 'key', prose: false, secretBearing: false, tool });
        else {
          const deep = walk(name, `${path}/${i}`, field, tool, inHeaders, out, false, depth + 1);
          tooDeep ??= deep;
        }
      }
      return tooDeep;
    }
    const tools = tool < 0 && path === '/tools';
    for (let i = 0; i < node.length; i++) {
      const deep = walk(node[i], `${path}/${i}`, field, tools ? i : tool, inHeaders, out, inMeta, depth + 1);
      tooDeep ??= deep;
    }
    return tooDeep;
  }
  for (const key of tool >= 0 && field === 'tools' ? toolKeys(node) : Object.keys(node)) {
    const value = (node as Record<string, unknown>)[key];
    const at = `${path}/${escape(key)}`;
    // Property names inside schemas are shown to the model too, and so is every other name the
    // publisher chose: keys of schema maps and `_meta`, and keys outside the schema vocabulary.
    if (field === 'properties' || field === 'patternProperties') out.push({ path: at, text: key, field: 'key', kind: 'key', prose: false, secretBearing: false, tool, schema: value });
    else if (NAME_MAPS.has(field) || inMeta || !KEYWORDS.has(key)) out.push({ path: at, text: key, field: 'keyword', kind: 'key', prose: false, secretBearing: false, tool });
    const deep = walk(value, at, key, tool, inHeaders || key === 'headers' || key === 'environmentVariables', out, inMeta || key === '_meta', depth + 1);
    tooDeep ??= deep;
  }
  return tooDeep;
}
