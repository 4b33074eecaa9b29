import { z } from 'zod';
import { LIMITS } from './limits.js';
import { NAME_RULE, serverNameProblem, VERSION_RULE, versionProblem } from './names.js';
import { httpHostProblem, parseUri } from './uri.js';
import { deferSchema } from './defer-schema.js';

/**
 * Wire schemas. The manifest is a superset of the official MCP registry's server.json
 * (schema 2025-12-11) plus `tools` and `instructions`. Every object is strict except `_meta`
 * and the JSON Schemas inside tools, which are JSON Schema documents by nature: signed content
 * must not carry fields nobody looked at.
 */

/** A JSON value (the nesting bound is enforced on the raw text, before parsing). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/**
 * Recursive, so it refers to itself by name: OpenAPI generators give it one named component
 * (`JsonValue`) instead of unrolling it forever or emitting dangling `$defs` references.
 */
export const JsonValue: z.ZodType<JsonValue> = deferSchema(() => z
  .lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(JsonValue), z.record(z.string(), JsonValue)]))
  .meta({ id: 'JsonValue', description: 'Any JSON value' }));

/** Server name `<namespace>/<name>`. */
export const ServerName = deferSchema(() => z.string().superRefine((value, ctx) => {
  const problem = serverNameProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, params: { finding: 'NAME_INVALID' } });
}));
export type ServerName = z.infer<typeof ServerName>;

/** Exact SemVer 2.0.0 version. */
export const Version = deferSchema(() => z.string().superRefine((value, ctx) => {
  const problem = versionProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, params: { finding: 'VERSION_INVALID' } });
}));
export type Version = z.infer<typeof Version>;

/** @internal The digest rule, shared with the plain tests that spare zod (resolver, signing). */
export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;
/** `sha256:<64 lowercase hex>`. */
export const Digest = deferSchema(() => z.string().regex(DIGEST_PATTERN, 'expected "sha256:" and 64 lowercase hex digits'));
export type Digest = z.infer<typeof Digest>;

export const Meta = deferSchema(() => z.record(z.string(), JsonValue));

/**
 * A URI as the official schema's `format: uri` (RFC 3986: ASCII, no spaces), at most 2,048
 * characters, with one of `schemes` when given: a link shown to reviewers and hosts is never
 * `javascript:`, `data:` or `file:`.
 */
function uri(schemes?: readonly string[]) {
  return z
    .string()
    .max(2048)
    .superRefine((value, ctx) => {
      const problem = uriProblem(value, schemes);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
}
/**
 * @internal Why `value` is not a URI that `uri(schemes)` takes (its 2,048-character bound aside),
 * or undefined: the schema's refinement, and the manifest check's plain test (parse.ts), which
 * must accept exactly what the schema accepts.
 */
export function uriProblem(value: string, schemes?: readonly string[]): string | undefined {
  const expected = () => (schemes ? `an RFC 3986 URI with scheme ${schemes.map((s) => `"${s}"`).join(', ')}` : 'an RFC 3986 URI');
  const parsed = parseUri(value);
  if (!parsed) return `expected ${expected()} (ASCII only, no spaces)`;
  if (parsed.badPort) return `expected ${expected()}: the port after the host is not a number`;
  if (schemes && !schemes.includes(parsed.scheme)) return `expected ${expected()}, not "${parsed.scheme}:"`;
  if (parsed.scheme === 'http' || parsed.scheme === 'https') {
    const problem = httpHostProblem(value);
    if (problem) return `${problem}: ${JSON.stringify(value.slice(0, 80))}`;
  }
  return undefined;
}
/** Sigil's stricter rule for every http(s) URL (docs/manifest.md): a plain host, no userinfo ({@link httpHostProblem}). */
function hostRule(value: string, ctx: z.RefinementCtx): void {
  const problem = httpHostProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `${problem}: ${JSON.stringify(value.slice(0, 80))}` });
}
/** @internal The schemes of `websiteUrl` and `registryBaseUrl` (shared with parse.ts's plain test). */
export const HTTP_URL_SCHEMES: readonly string[] = ['https', 'http'];
/** @internal The schemes of `repository.url` (shared with parse.ts's plain test). */
export const REPOSITORY_URL_SCHEMES: readonly string[] = ['https', 'http', 'git', 'ssh', 'git+https', 'git+ssh'];
/** http(s) only: `websiteUrl` and `registryBaseUrl` are links a reviewer or a client opens. */
const HttpUrl = deferSchema(() => uri(HTTP_URL_SCHEMES));
/** Where source can be browsed or cloned: http(s) and git's own transports. */
const RepositoryUrl = deferSchema(() => uri(REPOSITORY_URL_SCHEMES));

/** At most `max` Unicode code points, as JSON Schema's maxLength counts (not UTF-16 units). */
function text(min: number, max: number) {
  return z
    .string()
    .min(min)
    .refine((value) => value.length <= max || [...value].length <= max, `at most ${max} characters`);
}

export const Icon = deferSchema(() => z.strictObject({
  // The official schema's description: "Must be an HTTPS URL". Clients fetch icons.
  src: uri(['https']).max(255),
  mimeType: z.enum(['image/png', 'image/jpeg', 'image/jpg', 'image/svg+xml', 'image/webp']).optional(),
  sizes: z.array(z.string().regex(/^(\d+x\d+|any)$/)).max(16).optional(),
  theme: z.enum(['light', 'dark']).optional(),
}));

export const Repository = deferSchema(() => z.strictObject({
  url: RepositoryUrl,
  source: z.string().max(64),
  id: z.string().max(255).optional(),
  subfolder: z.string().max(255).optional(),
}));

/** The fields every kind of input shares (the same schemas in each), built with the first of them. */
let sharedInputFields: ReturnType<typeof buildInputFields> | undefined;
const inputFields = () => (sharedInputFields ??= buildInputFields());
const buildInputFields = () => ({
  description: z.string().optional(),
  isRequired: z.boolean().optional(),
  format: z.enum(['string', 'number', 'boolean', 'filepath']).optional(),
  value: z.string().optional(),
  isSecret: z.boolean().optional(),
  default: z.string().optional(),
  placeholder: z.string().optional(),
  choices: z.array(z.string()).optional(),
});
export const Input = deferSchema(() => z.strictObject(inputFields()));
const variables = deferSchema(() => z.record(z.string(), Input).optional());

export const KeyValueInput = deferSchema(() => z.strictObject({ ...inputFields(), variables, name: z.string().max(1024) }));

export const PositionalArgument = deferSchema(() => z
  .strictObject({
    ...inputFields(),
    variables,
    type: z.literal('positional'),
    valueHint: z.string().optional(),
    isRepeated: z.boolean().optional(),
  })
  .refine((a) => a.valueHint !== undefined || a.value !== undefined, 'a positional argument needs "valueHint" or "value"'));

export const NamedArgument = deferSchema(() => z.strictObject({
  ...inputFields(),
  variables,
  type: z.literal('named'),
  name: z.string().max(1024),
  isRepeated: z.boolean().optional(),
}));

export const Argument = deferSchema(() => z.union([PositionalArgument, NamedArgument]));

/** As the official server.json schema (2025-12-11): an http(s) URL without spaces; `{variables}` may follow the scheme and host part, not replace it. */
const TransportUrl = deferSchema(() => z
  .string()
  .regex(/^https?:\/\/[^\s]+$/, 'expected an http(s) URL without spaces (a "{base_url}/mcp" template is refused, as by the official schema)')
  .superRefine((value, ctx) => {
    if (/^https?:\/\/[^\s]+$/.test(value)) hostRule(value, ctx);
  }));

export const StdioTransport = deferSchema(() => z.strictObject({ type: z.literal('stdio') }));
export const StreamableHttpTransport = deferSchema(() => z.strictObject({
  type: z.literal('streamable-http'),
  url: TransportUrl,
  headers: z.array(KeyValueInput).optional(),
}));
export const SseTransport = deferSchema(() => z.strictObject({ type: z.literal('sse'), url: TransportUrl, headers: z.array(KeyValueInput).optional() }));
export const LocalTransport = deferSchema(() => z.discriminatedUnion('type', [StdioTransport, StreamableHttpTransport, SseTransport]));
export const RemoteTransport = deferSchema(() => z.discriminatedUnion('type', [
  StreamableHttpTransport.extend({ variables }),
  SseTransport.extend({ variables }),
]));

export const Package = deferSchema(() => z.strictObject({
  registryType: z.string().max(64),
  registryBaseUrl: HttpUrl.optional(),
  identifier: z.string().max(1024),
  version: z
    .string()
    .min(1)
    .max(255)
    .refine((v) => v !== 'latest', 'a package version must be exact, not "latest"')
    .optional(),
  fileSha256: z.string().regex(/^[a-f0-9]{64}$/).optional(),
  runtimeHint: z.string().max(64).optional(),
  transport: LocalTransport,
  runtimeArguments: z.array(Argument).optional(),
  packageArguments: z.array(Argument).optional(),
  environmentVariables: z.array(KeyValueInput).optional(),
}));

/** MCP tool annotations: hints only, but `readOnlyHint` drives the registry's risk level. */
export const ToolAnnotations = deferSchema(() => z.strictObject({
  title: z.string().optional(),
  readOnlyHint: z.boolean().optional(),
  destructiveHint: z.boolean().optional(),
  idempotentHint: z.boolean().optional(),
  openWorldHint: z.boolean().optional(),
}));
export type ToolAnnotations = z.infer<typeof ToolAnnotations>;

/** A JSON Schema for a tool's input or output: an object schema, otherwise open. */
export const ToolJsonSchema = deferSchema(() => z.looseObject({
  type: z.literal('object'),
  properties: z.record(z.string(), JsonValue).optional(),
  required: z.array(z.string()).optional(),
}));
export type ToolJsonSchema = z.infer<typeof ToolJsonSchema>;

/** MCP tool names: 1-128 of A-Z a-z 0-9 _ - . (MCP specification 2025-11-25, "Tool names"). */
/** @internal The tool-name rule, shared with the manifest check's plain-tool test (parse.ts). */
export const TOOL_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
export const ToolName = deferSchema(() => z.string().regex(TOOL_NAME_PATTERN, 'a tool name is 1 to 128 characters of A-Z, a-z, 0-9, "_", "-" and "."'));

/** One MCP tool definition, as `tools/list` returns it. */
export const Tool = deferSchema(() => z.strictObject({
  name: ToolName,
  title: z.string().optional(),
  description: z.string(),
  inputSchema: ToolJsonSchema,
  outputSchema: ToolJsonSchema.optional(),
  annotations: ToolAnnotations.optional(),
  _meta: Meta.optional(),
}));
export type Tool = z.infer<typeof Tool>;

/** The Sigil manifest, `sigil.json`. */
export const Manifest = deferSchema(() => z.strictObject({
  $schema: uri().optional(),
  name: ServerName,
  title: text(1, 100).optional(),
  description: text(1, 100),
  version: Version,
  websiteUrl: HttpUrl.optional(),
  repository: Repository.optional(),
  icons: z.array(Icon).max(16).optional(),
  packages: z.array(Package).max(32).optional(),
  remotes: z.array(RemoteTransport).max(32).optional(),
  _meta: Meta.optional(),
  instructions: z.string().optional(),
  tools: z.array(Tool).max(LIMITS.tools),
}));
export type Manifest = z.infer<typeof Manifest>;

/** A reference `<name>@<version>` as a structured value. */
export const ReferenceObject = deferSchema(() => z.strictObject({ name: ServerName, version: Version }));

export { NAME_RULE, VERSION_RULE };
