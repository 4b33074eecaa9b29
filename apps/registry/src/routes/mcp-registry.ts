import { createRoute, z } from '@hono/zod-openapi';
import { McpServerList, McpServerResponse } from '@sigil/manifest';
import { cors } from 'hono/cors';
import type { Deps } from '../deps.js';
import type { Context } from 'hono';
import { TrustedProxies } from '../client-address.js';
import { READ_ROLES, type Env } from '../http.js';
import { MAX_CURSOR_LENGTH } from '../services/cursor.js';
import { getMcpVersion, listMcpServers, listMcpVersions } from '../services/read-mcp-registry.js';
import { authorize, BEARER_OR_ANONYMOUS, json, problems, rawJson, requestOrigin, router } from './kit.js';
import { nameOf, versionOf } from './servers.js';

const ServerNameParam = z.string().max(300).openapi({ description: 'The server name, URL-encoded ("/" as %2F)', example: 'io.github.acme%2Fweather' });
const ListQuery = z.object({
  cursor: z.string().max(MAX_CURSOR_LENGTH).optional().openapi({ description: 'The `metadata.nextCursor` of the previous page (empty: the first page)' }),
  limit: z.coerce.number().int().min(1).max(100).default(30).openapi({ description: 'Items per page (1-100)', example: 30 }),
  search: z.string().max(200).optional().openapi({ description: 'Substring of the server name', example: 'weather' }),
  updated_since: z.iso.datetime({ offset: true }).optional().openapi({ description: 'Only versions approved at or after this RFC 3339 time' }),
  version: z.string().max(255).optional().openapi({ description: '`latest`, or an exact version', example: 'latest' }),
});

/** Splits the URL-decoded `{serverName}` and checks it like every other name. */
function serverName(raw: string): string {
  const slash = raw.indexOf('/');
  return nameOf(raw.slice(0, Math.max(slash, 0)), raw.slice(slash + 1));
}

/**
 * The official MCP registry's read API, v0.1, over Sigil's approved and unrevoked versions, so a
 * host that reads an enterprise MCP registry (VS Code, GitHub Copilot, ToolHive) can use Sigil as
 * the list of what the organisation allows. Public reads send CORS headers for any origin.
 */
export function mcpRegistryRoutes(deps: Deps) {
  const read = () => authorize(deps, READ_ROLES, 'reading the MCP registry API', { anonymous: true });
  const list = createRoute({
    method: 'get',
    path: '/servers',
    operationId: 'mcpListServers',
    tags: ['mcp-registry'],
    summary: 'List servers (official MCP registry API v0.1)',
    description: 'Approved, unrevoked versions only; `version=latest` gives one per server.',
    security: BEARER_OR_ANONYMOUS,
    middleware: [read()] as const,
    request: { query: ListQuery },
    responses: { 200: json(McpServerList, 'A page of servers'), ...problems(401, 403, 422) },
  });
  const versions = createRoute({
    method: 'get',
    path: '/servers/{serverName}/versions',
    operationId: 'mcpListVersions',
    tags: ['mcp-registry'],
    summary: 'Approved versions of a server, newest first',
    security: BEARER_OR_ANONYMOUS,
    middleware: [read()] as const,
    request: { params: z.object({ serverName: ServerNameParam }) },
    responses: { 200: json(McpServerList, 'The versions'), ...problems(401, 403, 404, 422) },
  });
  const version = createRoute({
    method: 'get',
    path: '/servers/{serverName}/versions/{version}',
    operationId: 'mcpGetVersion',
    tags: ['mcp-registry'],
    summary: 'One approved version, or `latest`',
    security: BEARER_OR_ANONYMOUS,
    middleware: [read()] as const,
    request: { params: z.object({ serverName: ServerNameParam, version: z.string().max(255).openapi({ description: 'An exact version, or `latest`', example: 'latest' }) }) },
    responses: { 200: json(McpServerResponse, 'The version'), ...problems(401, 403, 404, 422) },
  });
  const trusted = new TrustedProxies(deps.settings.trustedProxies);
  /** The origin the answer's URLs name (public-origin.ts), as fast-reads.ts takes it too. */
  const origin = (c: Context<Env>): string => requestOrigin(deps.settings.publicOrigin, trusted, c);
  const app = router();
  app.use('*', cors({ origin: '*', allowMethods: ['GET', 'OPTIONS'], allowHeaders: ['authorization', 'content-type'], maxAge: 600 }));
  return app
    .openapi(list, async (c) => {
      const q = c.req.valid('query');
      const since = q.updated_since === undefined ? undefined : new Date(q.updated_since).toISOString();
      // `latest` or an exact version (docs/api.md): anything else is VERSION_INVALID, not an empty page.
      if (q.version !== undefined && q.version !== 'latest') versionOf(q.version);
      return rawJson(await listMcpServers(deps, { cursor: q.cursor, limit: q.limit, search: q.search, updatedSince: since, version: q.version }, origin(c)));
    })
    .openapi(versions, async (c) => rawJson(await listMcpVersions(deps, serverName(c.req.valid('param').serverName), origin(c))))
    .openapi(version, async (c) => {
      const p = c.req.valid('param');
      const v = p.version === 'latest' ? 'latest' : versionOf(p.version);
      return c.json(await getMcpVersion(deps, serverName(p.serverName), v, origin(c)), 200);
    });
}
