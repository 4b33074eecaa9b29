import type { OpenAPIHono } from '@hono/zod-openapi';
import { ERROR_STATUS } from './errors.js';
import type { Env } from './http.js';

const TAGS = [
  { name: 'publish', description: 'Publishing signed manifests' },
  { name: 'servers', description: 'Reading servers and versions (Sigil’s own API)' },
  { name: 'review', description: 'Review queue, findings, diffs, and decisions on versions' },
  { name: 'status', description: 'Signed, expiring status statements for hosts' },
  { name: 'governance', description: 'Allowlist, reviewers, organisation CAs, tokens' },
  { name: 'audit', description: 'The hash-chained governance log' },
  { name: 'trust', description: 'The registry’s keys, trusted root and timestamp authority' },
  { name: 'log', description: 'The transparency log: C2SP checkpoints and tiles, inclusion and consistency proofs' },
  { name: 'meta', description: 'Health, this document, documentation, metrics' },
  { name: 'mcp-registry', description: 'The official MCP registry read API (v0.1): approved, unrevoked versions only' },
];

const built = new WeakMap<object, Record<string, unknown>>();

/**
 * The OpenAPI 3.1 document of `app`, generated from the routes' own zod schemas (the ones their
 * handlers validate with) and built once; `servers` names the origin it is served from.
 */
export function openApiDocument(app: OpenAPIHono<Env>, origin = 'http://127.0.0.1:8787'): Record<string, unknown> {
  let doc = built.get(app);
  if (!doc) {
    app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
      type: 'http',
      scheme: 'bearer',
      description: 'An opaque token from POST /v1/tokens (or the bootstrap token)',
    });
    doc = app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: {
        title: 'Sigil registry',
        version: '0.1.0',
        license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
        description: `A signed registry for MCP tools. Every refusal is an RFC 9457 problem (application/problem+json) with a stable \`code\` and a \`requestId\`. Error codes and their HTTP statuses: ${Object.entries(ERROR_STATUS)
          .map(([c, s]) => `${c} ${s}`)
          .join(', ')}.`,
      },
      tags: TAGS,
    }) as unknown as Record<string, unknown>;
    shapeJsonValue(doc);
    built.set(app, doc);
  }
  return { ...doc, servers: [{ url: origin, description: 'This registry' }] };
}

/**
 * `JsonValue` is the one recursive type, a named component. Its array branch lists its items as
 * any value (`{}`) rather than `$ref` itself: TypeScript client generators turn a self-referencing
 * array element into a type alias TypeScript rejects as circular (TS2502); the object branch
 * keeps its reference, which they handle.
 */
function shapeJsonValue(doc: Record<string, unknown>): void {
  const schemas = (doc.components as { schemas?: Record<string, { anyOf?: Array<Record<string, unknown>> }> } | undefined)?.schemas;
  const json = schemas?.JsonValue;
  if (!json?.anyOf) return;
  json.anyOf = json.anyOf.map((branch) =>
    branch.type === 'array'
      ? { type: 'array', items: { description: 'Any JSON value' } }
      : branch.type === 'object'
        ? { type: 'object', additionalProperties: { $ref: '#/components/schemas/JsonValue' } }
        : branch,
  );
}
