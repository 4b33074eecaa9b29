import { z } from 'zod';
import { ManifestError } from './errors.js';
import { hasErrors, pointer, refusalCode, type Finding, type FindingCode } from './findings.js';
import { scanJson, utf8Length } from './json-scan.js';
import { LIMITS, type Limits } from './limits.js';
import { isRecordObject } from './plain.js';
import { serverNameProblem, versionProblem } from './names.js';
import { HTTP_URL_SCHEMES, Manifest, REPOSITORY_URL_SCHEMES, Tool, TOOL_NAME_PATTERN, ToolJsonSchema, uriProblem } from './schema.js';
import { SERVER_INFO_META_KEY, serverInfoProblem } from './server-info.js';

/** The publisher's own metadata for downstream registries, in the official server.json schema. */
export const PUBLISHER_PROVIDED_META_KEY = 'io.modelcontextprotocol.registry/publisher-provided';

/** Most findings reported for one document; the rest are summarised in one more finding. */
export const MAX_FINDINGS = 100;

export interface ManifestCheck {
  /** The manifest exactly as parsed from the text, present only when there is no error finding. */
  manifest: Manifest | undefined;
  /** Every finding, errors first, in document order within each severity. */
  findings: Finding[];
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Checks manifest text (or its UTF-8 bytes) against the format and the limits, reporting every
 * finding. Order matters for safety: the size is checked before decoding, the nesting depth and
 * duplicate keys on the raw text before `JSON.parse`, and only then the schema.
 * Never throws.
 */
export function checkManifest(input: string | Uint8Array, limits: Limits = LIMITS): ManifestCheck {
  try {
    const size = typeof input === 'string' ? utf8Length(input) : input.byteLength;
    if (size > limits.manifestBytes) {
      return fail([
        error('', 'MANIFEST_TOO_LARGE', `the manifest is ${size} bytes; the limit is ${limits.manifestBytes} bytes (${limits.manifestBytes / 1024} KiB)`),
      ]);
    }
    let text: string;
    if (typeof input === 'string') text = input;
    else {
      try {
        text = decoder.decode(input);
      } catch {
        return fail([error('', 'JSON_INVALID', 'the manifest is not valid UTF-8')]);
      }
    }
    const scan = scanJson(text, limits.depth);
    if (scan.some((f) => f.rule === 'JSON_TOO_DEEP')) return fail(scan);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (cause) {
      return fail([...scan, error('', 'JSON_INVALID', `the manifest is not valid JSON: ${(cause as Error).message}`)]);
    }
    return finish([...scan, ...checkValue(value, limits, Manifest, true, size)], value);
  } catch (cause) {
    // Fail closed: an unexpected failure in a check is a refusal, never an acceptance.
    return fail([error('', 'MANIFEST_INVALID', `the manifest could not be checked: ${String((cause as Error)?.message ?? cause)}`)]);
  }
}

/**
 * Checks an already-parsed value (for manifests built in memory, such as by introspection, or a
 * request body). A plain JSON value (objects, arrays, strings, finite numbers, booleans, null) is
 * checked in place, without printing and parsing it again: one walk for the depth, lone
 * surrogates and plainness, the size from its serialisation, then the schema. Anything
 * `JSON.stringify` would change (undefined, NaN, a Date, a class instance) is checked as its
 * serialisation, as before. On success `manifest` is the value itself. `canonicalText`, when the
 * caller holds it (a host's stored manifest, checked against its pinned digest): the value's RFC
 * 8785 canonical JSON, which has the same characters as `JSON.stringify`'s text of it in another
 * key order (same size, same escapes), so it stands in for that text instead of serialising the
 * value again.
 */
export function checkManifestValue(value: unknown, limits: Limits = LIMITS, canonicalText?: string): ManifestCheck {
  let text: string | undefined = canonicalText;
  if (text === undefined) {
    try {
      text = JSON.stringify(value);
    } catch {
      text = undefined;
    }
  }
  if (text === undefined) return fail([error('', 'MANIFEST_INVALID', 'the manifest is not a JSON value')]);
  try {
    const size = utf8Length(text);
    if (size > limits.manifestBytes) {
      return fail([error('', 'MANIFEST_TOO_LARGE', `the manifest is ${size} bytes; the limit is ${limits.manifestBytes} bytes (${limits.manifestBytes / 1024} KiB)`)]);
    }
    // JSON.stringify writes a lone surrogate as a \uXXXX escape: without one, no string needs the test.
    const walked = plainJson(value, limits.depth, ESCAPED_SURROGATE.test(text));
    if (walked === undefined) return checkManifest(text, limits);
    if (walked.some((f) => f.rule === 'JSON_TOO_DEEP')) return fail(walked);
    // The schema only when a plain test is unsure: a manifest whose every field plainManifest and
    // plainTools have checked as the schema checks it has nothing left for zod to find.
    const schema = !plainTools(value) ? fastSchemas().manifest : plainManifest(value) ? null : fastSchemas().ofPlainTools;
    return finish([...walked, ...checkValue(value, limits, schema, false, size)], value);
  } catch (cause) {
    return fail([error('', 'MANIFEST_INVALID', `the manifest could not be checked: ${String((cause as Error)?.message ?? cause)}`)]);
  }
}

let fast: { manifest: z.ZodType; ofPlainTools: z.ZodType } | undefined;

/**
 * The two manifest schemas of checkManifestValue, built at their first use: a host's locked
 * manifests are plain (plainManifest and plainTools decide them without zod), so most starts
 * never use them, and building them (three `.extend()`s of the wire schemas) was a visible share
 * of evaluating this module at every start.
 *
 * `manifest` (FastManifest): the manifest schema for a value already proven to be plain JSON: the
 * same zod schema, with only its JSON-value leaves (tool schema properties, `_meta`) taken as
 * they are, since the walk (`plainJson`) has checked every value in them. Everything else,
 * strictness included, is the wire schema's own.
 *
 * `ofPlainTools` (ManifestOfPlainTools): FastManifest with its tools taken as they are: only for a
 * manifest whose every tool `plainTools` has shown FastManifest's tool schema accepts. zod's
 * parse of each tool costs more than the manifest's other fields together (a host checks every
 * tool of every locked manifest at each start); the outcome is the same, since a tool the test
 * is unsure of sends the whole manifest through FastManifest, for its findings.
 */
function fastSchemas(): { manifest: z.ZodType; ofPlainTools: z.ZodType } {
  if (fast === undefined) {
    const AnyJson = z.record(z.string(), z.unknown());
    const FastToolJsonSchema = ToolJsonSchema.extend({ properties: AnyJson.optional() });
    const FastManifest = Manifest.extend({
      _meta: AnyJson.optional(),
      tools: z.array(Tool.extend({ inputSchema: FastToolJsonSchema, outputSchema: FastToolJsonSchema.optional(), _meta: AnyJson.optional() })).max(LIMITS.tools),
    });
    fast = { manifest: FastManifest, ofPlainTools: FastManifest.extend({ tools: z.array(z.unknown()).max(LIMITS.tools) }) };
  }
  return fast;
}

const MANIFEST_KEYS: ReadonlySet<string> = new Set(['$schema', 'name', 'title', 'description', 'version', 'websiteUrl', 'repository', '_meta', 'instructions', 'tools']);
const REPOSITORY_KEYS: ReadonlySet<string> = new Set(['url', 'source', 'id', 'subfolder']);

/**
 * True only when ManifestOfPlainTools accepts `value` as it is, for a value whose tools
 * `plainTools` has accepted: every key one of the fields below, each checked by the schema's own
 * rule functions and bounds (`serverNameProblem`, `versionProblem`, `uriProblem`, the lengths of
 * `text()`, the repository's strict keys, `_meta` a plain object, at most LIMITS.tools tools).
 * zod's parse of the manifest's own fields costs a host about as much per locked server as its
 * verdict is worth; a manifest with `icons`, `packages` or `remotes`, or anything this test is
 * unsure of, goes through zod, which decides and words the findings.
 */
function plainManifest(value: unknown): boolean {
  if (!isRecordObject(value)) return false;
  for (const key of Object.keys(value)) if (!MANIFEST_KEYS.has(key)) return false;
  const { $schema, name, title, description, version, websiteUrl, repository, _meta, instructions, tools } = value;
  if (typeof name !== 'string' || serverNameProblem(name) !== undefined) return false;
  if (typeof version !== 'string' || versionProblem(version) !== undefined) return false;
  if (!plainText(description, 1, 100) || (title !== undefined && !plainText(title, 1, 100))) return false;
  if ($schema !== undefined && !plainUri($schema)) return false;
  if (websiteUrl !== undefined && !plainUri(websiteUrl, HTTP_URL_SCHEMES)) return false;
  if (repository !== undefined) {
    if (!isRecordObject(repository)) return false;
    for (const key of Object.keys(repository)) if (!REPOSITORY_KEYS.has(key)) return false;
    const { url, source, id, subfolder } = repository;
    if (!plainUri(url, REPOSITORY_URL_SCHEMES) || !boundedString(source, 64)) return false;
    if ((id !== undefined && !boundedString(id, 255)) || (subfolder !== undefined && !boundedString(subfolder, 255))) return false;
  }
  if (_meta !== undefined && !isRecordObject(_meta)) return false;
  if (instructions !== undefined && typeof instructions !== 'string') return false;
  return Array.isArray(tools) && tools.length <= LIMITS.tools;
}

/** schema.ts's `text(min, max)`: at least `min` UTF-16 units, at most `max` code points. */
function plainText(value: unknown, min: number, max: number): boolean {
  return typeof value === 'string' && value.length >= min && (value.length <= max || [...value].length <= max);
}

/** schema.ts's `uri(schemes)`: at most 2,048 characters, and no `uriProblem`. */
function plainUri(value: unknown, schemes?: readonly string[]): boolean {
  return boundedString(value, 2048) && uriProblem(value, schemes) === undefined;
}

function boundedString(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length <= max;
}

/**
 * @internal The tool schema's keys, written out (as MANIFEST_KEYS) so that the plain test builds no
 * zod schema; parse.test.ts checks they are `Tool.shape`'s.
 */
export const TOOL_KEYS: ReadonlySet<string> = new Set(['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations', '_meta']);
const ANNOTATION_KEYS: ReadonlySet<string> = new Set(['title', 'readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint']);

/**
 * True only when `value.tools` is an array each of whose items FastManifest's tool schema accepts
 * (strict keys, name pattern, string title and description, object input and output schemas of
 * `type: "object"` with a plain-object `properties` and a string-array `required`, strict
 * boolean annotations, a plain-object `_meta`). Conservative: anything unusual (a key named
 * `constructor` or `__proto__` in a record, which zod's plain-object test treats apart) is false,
 * and zod then decides. For values already proven plain JSON (`plainJson`).
 */
function plainTools(value: unknown): boolean {
  const tools = (value as { tools?: unknown } | null)?.tools;
  if (!Array.isArray(tools)) return false;
  for (const tool of tools) if (!plainTool(tool)) return false;
  return true;
}

function plainTool(tool: unknown): boolean {
  if (!isRecordObject(tool)) return false;
  for (const key of Object.keys(tool)) if (!TOOL_KEYS.has(key)) return false;
  const { name, title, description, inputSchema, outputSchema, annotations, _meta } = tool;
  if (typeof name !== 'string' || !TOOL_NAME_PATTERN.test(name)) return false;
  if (title !== undefined && typeof title !== 'string') return false;
  if (typeof description !== 'string') return false;
  if (!plainToolSchema(inputSchema) || (outputSchema !== undefined && !plainToolSchema(outputSchema))) return false;
  if (annotations !== undefined) {
    if (!isRecordObject(annotations)) return false;
    for (const key of Object.keys(annotations)) {
      if (!ANNOTATION_KEYS.has(key)) return false;
      const v = annotations[key];
      if (key === 'title' ? typeof v !== 'string' : typeof v !== 'boolean') return false;
    }
  }
  return _meta === undefined || isRecordObject(_meta);
}

/** FastToolJsonSchema: a loose object, `type: "object"`, `properties` a record, `required` strings. */
function plainToolSchema(schema: unknown): boolean {
  if (!isRecordObject(schema)) return false;
  const { type, properties, required } = schema;
  if (type !== 'object') return false;
  if (properties !== undefined && !isRecordObject(properties)) return false;
  if (required !== undefined) {
    if (!Array.isArray(required)) return false;
    for (const item of required) if (typeof item !== 'string') return false;
  }
  return true;
}

/**
 * One walk over a value: undefined unless it is plain JSON; else the findings the raw-text scan
 * would give (nesting deeper than `maxDepth`, lone surrogates). Never recurses past the bound.
 */
function plainJson(value: unknown, maxDepth: number, surrogates: boolean): Finding[] | undefined {
  const findings: Finding[] = [];
  const at: Array<string | number> = [];
  const walk = (node: unknown, depth: number): boolean => {
    switch (typeof node) {
      case 'string':
        if (surrogates && hasLoneSurrogate(node)) findings.push(error(pointer(at), 'STRING_INVALID', 'the string holds a lone UTF-16 surrogate, which JSON canonicalisation (RFC 8785) forbids'));
        return true;
      case 'number':
        return Number.isFinite(node);
      case 'boolean':
        return true;
      case 'object': {
        if (node === null) return true;
        if (depth >= maxDepth) {
          findings.push(error(pointer(at), 'JSON_TOO_DEEP', `JSON nesting is deeper than ${maxDepth} levels; flatten the document`));
          return true;
        }
        if (Array.isArray(node)) {
          for (let i = 0; i < node.length; i++) {
            at.push(i);
            const ok = walk(node[i], depth + 1);
            at.pop();
            if (!ok) return false;
          }
          return true;
        }
        const proto = Object.getPrototypeOf(node) as unknown;
        if (proto !== Object.prototype && proto !== null) return false;
        for (const key in node) {
          if (!Object.hasOwn(node, key)) continue;
          at.push(key);
          if (surrogates && hasLoneSurrogate(key)) findings.push(error(pointer(at), 'STRING_INVALID', 'the key holds a lone UTF-16 surrogate'));
          const ok = walk((node as Record<string, unknown>)[key], depth + 1);
          at.pop();
          if (!ok) return false;
          if (findings.length > MAX_FINDINGS) return true;
        }
        return true;
      }
      default:
        return false;
    }
  };
  return walk(value, 0) ? findings : undefined;
}

/**
 * Parses and checks a manifest, throwing on any error finding.
 * @example const manifest = parseManifest(await readFile('sigil.json'));
 * @throws ManifestError whose `code` is the contract code and whose `findings` list every problem
 */
export function parseManifest(input: string | Uint8Array, limits: Limits = LIMITS): Manifest {
  const { manifest, findings } = checkManifest(input, limits);
  if (manifest === undefined) {
    const code = refusalCode(findings);
    const first = findings.find((f) => f.severity === 'error');
    throw new ManifestError(code, first ? `${first.path || '/'}: ${first.message}` : 'the manifest is invalid', findings);
  }
  return manifest;
}

/**
 * The schema's findings (none asked when `schema` is null: a plain test has shown it would find
 * none), the limits' and, with `strings`, lone surrogates. `textBytes`: the UTF-8 size of the
 * manifest's JSON text, when the caller has it (see limitFindings).
 */
function checkValue(value: unknown, limits: Limits, schema: z.ZodType | null = Manifest, strings = true, textBytes?: number): Finding[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [error('', 'MANIFEST_INVALID', `the manifest must be a JSON object, not ${describe(value)}`)];
  }
  const findings: Finding[] = [];
  const parsed = schema?.safeParse(value);
  const missingTools = (value as { tools?: unknown }).tools === undefined;
  if (parsed && !parsed.success) findings.push(...parsed.error.issues.flatMap((issue) => issueFindings(issue, missingTools)));
  findings.push(...limitFindings(value as Record<string, unknown>, limits, textBytes));
  if (strings) findings.push(...stringFindings(value));
  return findings;
}

function issueFindings(issue: z.core.$ZodIssue, missingTools = false): Finding[] {
  const segments = issue.path.map((s) => (typeof s === 'symbol' ? String(s) : s));
  const path = pointer(segments);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) =>
      error(pointer([...segments, key]), 'KEY_UNKNOWN', `unknown key ${JSON.stringify(key)}: signed content must not carry fields outside the format`),
    );
  }
  if (issue.code === 'too_big' && segments.length === 1 && segments[0] === 'tools') {
    return []; // reported by limitFindings with its own code
  }
  if (issue.code === 'invalid_type' && segments.length === 1 && segments[0] === 'tools' && missingTools) {
    // A plain server.json: say what is missing and how to get it, not only the type.
    return [error(path, 'MANIFEST_INVALID', 'no "tools": a Sigil manifest is a server.json plus the tools the server exposes; `sigil manifest init` writes them from the live server')];
  }
  let code: FindingCode = 'MANIFEST_INVALID';
  const custom = issue.code === 'custom' ? (issue.params as { finding?: FindingCode } | undefined)?.finding : undefined;
  if (custom) code = custom;
  else if (segments.length === 1 && segments[0] === 'name') code = 'NAME_INVALID';
  else if (segments.length === 1 && segments[0] === 'version') code = 'VERSION_INVALID';
  return [error(path, code, issue.message)];
}

/**
 * `textBytes`: the UTF-8 size of the manifest's JSON text. No string inside the manifest has more
 * UTF-8 bytes than that text (JSON writes a string's characters as they are or as longer escapes),
 * so when it is within the description limit no tool is looked into for a long description.
 */
function limitFindings(manifest: Record<string, unknown>, limits: Limits, textBytes?: number): Finding[] {
  const findings: Finding[] = [];
  const { tools, instructions, _meta } = manifest;
  if (typeof instructions === 'string' && utf8Length(instructions) > limits.instructionsBytes) {
    findings.push(error('/instructions', 'INSTRUCTIONS_TOO_LONG', `the instructions are ${utf8Length(instructions)} bytes; the limit is ${limits.instructionsBytes}`));
  }
  // `_meta` is open, but the identity `sigil run` pins is read from it: a malformed record is refused, not ignored.
  const serverInfo = typeof _meta === 'object' && _meta !== null ? (_meta as Record<string, unknown>)[SERVER_INFO_META_KEY] : undefined;
  const serverInfoFinding = serverInfo === undefined ? undefined : serverInfoProblem(serverInfo);
  if (serverInfoFinding) findings.push(error(pointer(['_meta', SERVER_INFO_META_KEY]), 'MANIFEST_INVALID', serverInfoFinding));
  // The one `_meta` key the official server.json schema defines: an object when present.
  const provided = typeof _meta === 'object' && _meta !== null ? (_meta as Record<string, unknown>)[PUBLISHER_PROVIDED_META_KEY] : undefined;
  if (provided !== undefined && (typeof provided !== 'object' || provided === null || Array.isArray(provided))) {
    findings.push(error(pointer(['_meta', PUBLISHER_PROVIDED_META_KEY]), 'MANIFEST_INVALID', `expected an object, as the official server.json schema says, not ${describe(provided)}`));
  }
  if (!Array.isArray(tools)) return findings;
  if (tools.length > limits.tools) {
    findings.push(error('/tools', 'TOOLS_TOO_MANY', `the manifest lists ${tools.length} tools; the limit is ${limits.tools}`));
  }
  const seen = new Map<string, number>();
  tools.forEach((tool: unknown, i) => {
    if (typeof tool !== 'object' || tool === null) return;
    const t = tool as Record<string, unknown>;
    if (typeof t.name === 'string') {
      const first = seen.get(t.name);
      if (first !== undefined) {
        findings.push(error(pointer(['tools', i, 'name']), 'TOOL_DUPLICATE', `the tool name ${JSON.stringify(t.name)} is already used by /tools/${first}; tool names must be unique`));
      } else seen.set(t.name, i);
    }
    // Every string inside the tool is shorter than the tool's JSON text, so when that text
    // times 3 (the most UTF-8 bytes per UTF-16 unit) is within the limit no description can
    // pass it: one native serialisation instead of a walk over every schema.
    if ((textBytes !== undefined && textBytes <= limits.descriptionBytes) || jsonLength(t) * 3 <= limits.descriptionBytes) return;
    for (const [at, bytes] of longDescriptions(t, ['tools', i], limits.descriptionBytes)) {
      findings.push(error(pointer(at), 'DESCRIPTION_TOO_LONG', `the description is ${bytes} bytes; the limit is ${limits.descriptionBytes} bytes (${limits.descriptionBytes / 1024} KiB)`));
    }
  });
  return findings;
}

/** Length of the value's JSON text in UTF-16 units, or Infinity when it has none. */
function jsonLength(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? Infinity;
  } catch {
    return Infinity;
  }
}

/**
 * The tool's own description and every `description` string inside its schemas that is longer
 * than `limit` UTF-8 bytes, with paths. A string of n UTF-16 units is at most 3n bytes, so most
 * are passed over without counting.
 */
function longDescriptions(tool: Record<string, unknown>, base: Array<string | number>, limit: number): Array<[Array<string | number>, number]> {
  const out: Array<[Array<string | number>, number]> = [];
  const check = (text: string, at: Array<string | number>) => {
    if (text.length * 3 <= limit) return;
    const bytes = utf8Length(text);
    if (bytes > limit) out.push([at, bytes]);
  };
  if (typeof tool.description === 'string') check(tool.description, [...base, 'description']);
  const at: Array<string | number> = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        at.push(i);
        walk(node[i]);
        at.pop();
      }
    } else if (typeof node === 'object' && node !== null) {
      for (const key in node) {
        if (!Object.hasOwn(node, key)) continue;
        const child = (node as Record<string, unknown>)[key];
        at.push(key);
        if (key === 'description' && typeof child === 'string') check(child, [...base, ...at]);
        else walk(child);
        at.pop();
      }
    }
  };
  for (const key of ['inputSchema', 'outputSchema'] as const) {
    at.push(key);
    walk(tool[key]);
    at.pop();
  }
  return out;
}

const ESCAPED_SURROGATE = /\\u[dD][89a-fA-F]/;

type WellFormedString = string & { isWellFormed(): boolean };

/**
 * Whether `text` holds a lone UTF-16 surrogate: String.prototype.isWellFormed (ES2024, Node 20+)
 * is false exactly then, as `/\p{Cs}/u` matches only then. Not that regular expression: created
 * when this module was evaluated, at every host start, even when no string needed it, it had V8
 * read ICU's Unicode property data (callgrind, warm 1-server `sigil resolve --offline`, packed
 * CLI: 1.5 M of 305 M instructions).
 */
function hasLoneSurrogate(text: string): boolean {
  return !(text as WellFormedString).isWellFormed();
}

/**
 * RFC 8785 canonicalisation is defined only for well-formed Unicode: a `STRING_INVALID` finding
 * for every string and key of `value` holding a lone surrogate (a manifest's, a request body's).
 */
export function stringFindings(value: unknown): Finding[] {
  const findings: Finding[] = [];
  const walk = (node: unknown, at: Array<string | number>): void => {
    if (typeof node === 'string') {
      if (hasLoneSurrogate(node)) findings.push(error(pointer(at), 'STRING_INVALID', 'the string holds a lone UTF-16 surrogate, which JSON canonicalisation (RFC 8785) forbids'));
    } else if (Array.isArray(node)) {
      node.forEach((child, i) => walk(child, [...at, i]));
    } else if (typeof node === 'object' && node !== null) {
      for (const [key, child] of Object.entries(node)) {
        if (hasLoneSurrogate(key)) findings.push(error(pointer([...at, key]), 'STRING_INVALID', 'the key holds a lone UTF-16 surrogate'));
        walk(child, [...at, key]);
      }
    }
  };
  walk(value, []);
  return findings;
}

function finish(findings: Finding[], value: unknown): ManifestCheck {
  if (hasErrors(findings)) return fail(findings);
  return { manifest: value as Manifest, findings };
}

function fail(findings: Finding[]): ManifestCheck {
  const order = { error: 0, warning: 1, info: 2 } as const;
  const sorted = findings.map((f, i) => [f, i] as const).sort((a, b) => order[a[0].severity] - order[b[0].severity] || a[1] - b[1]).map(([f]) => f);
  if (sorted.length > MAX_FINDINGS) {
    const rest = sorted.length - MAX_FINDINGS + 1;
    return {
      manifest: undefined,
      findings: [...sorted.slice(0, MAX_FINDINGS - 1), error('', 'MANIFEST_INVALID', `${rest} more findings not shown`)],
    };
  }
  return { manifest: undefined, findings: sorted };
}

function error(path: string, code: FindingCode, message: string): Finding {
  return { path, rule: code, message, severity: 'error' };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
