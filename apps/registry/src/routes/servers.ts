import { createRoute, z } from '@hono/zod-openapi';
import { ReviewView, ServerList, ServerRecord, serverNameProblem, VersionRecord, versionProblem } from '@sigil/manifest';
import type { Deps } from '../deps.js';
import { ServiceError } from '../errors.js';
import { READ_ROLES } from '../http.js';
import { approveVersion } from '../services/approve-version.js';
import { requireNamespace } from '../services/authenticate.js';
import { MAX_CURSOR_LENGTH } from '../services/cursor.js';
import { listServers } from '../services/list-servers.js';
import { rejectVersion } from '../services/reject-version.js';
import { reviewVersion } from '../services/review-version.js';
import { revokeVersion } from '../services/revoke-version.js';
import { getServerJson, getVersionJson } from '../services/views.js';
import { ApprovalBody, ReasonBody } from '../schemas.js';
import { authorize, BEARER, BEARER_OR_ANONYMOUS, json, jsonBody, principalOf, problems, rawJson, router, ServerParams, VersionParams } from './kit.js';

export const ListQuery = z.object({
  search: z.string().max(200).optional().openapi({ description: 'Substring of the server name', example: 'weather' }),
  cursor: z.string().max(MAX_CURSOR_LENGTH).optional().openapi({ description: 'The `next` value of the previous page (empty: the first page)' }),
  limit: z.coerce.number().int().min(1).max(100).default(30).openapi({ description: 'Servers per page (1-100)', example: 30 }),
});

export function nameOf(namespace: string, server: string): string {
  const name = `${namespace}/${server}`;
  const problem = serverNameProblem(name);
  if (problem) throw new ServiceError('NAME_INVALID', problem);
  return name;
}

export function versionOf(version: string): string {
  const problem = versionProblem(version);
  if (problem) throw new ServiceError('VERSION_INVALID', problem);
  return version;
}

/** `/v1/servers…`: reading servers and versions, and the decisions on a version. */
export function serverRoutes(deps: Deps) {
  const read = (action: string) => authorize(deps, READ_ROLES, action, { anonymous: true });
  const decision = <S extends z.ZodType>(operationId: string, path: string, summary: string, description: string, action: string, body: S) =>
    createRoute({
      method: 'post',
      path,
      operationId,
      tags: ['review'],
      summary,
      description,
      security: BEARER,
      middleware: [authorize(deps, ['security'], action), jsonBody] as const,
      request: { params: VersionParams, body: { required: true, content: { 'application/json': { schema: body } } } },
      responses: { 201: json(VersionRecord, 'The version with the decision recorded'), ...problems(400, 401, 403, 404, 409, 413, 415, 422) },
    });

  const list = createRoute({
    method: 'get',
    path: '/',
    operationId: 'listServers',
    tags: ['servers'],
    summary: 'List servers',
    description: 'Servers by name, each with its newest version and that version’s status; `next` continues. Roles: reader and up (or anonymous when the registry allows anonymous reads).',
    security: BEARER_OR_ANONYMOUS,
    middleware: [read('listing servers')] as const,
    request: { query: ListQuery },
    responses: { 200: json(ServerList, 'A page of servers'), ...problems(401, 403, 422) },
  });
  const server = createRoute({
    method: 'get',
    path: '/{namespace}/{name}',
    operationId: 'getServer',
    tags: ['servers'],
    summary: 'Versions of a server and their status',
    description: 'Every version of one server, newest first. Roles: reader and up (or anonymous).',
    security: BEARER_OR_ANONYMOUS,
    middleware: [read('reading a server')] as const,
    request: { params: ServerParams },
    responses: { 200: json(ServerRecord, 'The server'), ...problems(401, 403, 404, 422) },
  });
  const version = createRoute({
    method: 'get',
    path: '/{namespace}/{name}/versions/{version}',
    operationId: 'getVersion',
    tags: ['servers'],
    summary: 'One version: manifest, digests, bundles, status, approvals',
    description: 'Everything a host needs to verify the version again itself. Roles: reader and up (or anonymous).',
    security: BEARER_OR_ANONYMOUS,
    middleware: [read('reading a version')] as const,
    request: { params: VersionParams },
    responses: { 200: json(VersionRecord, 'The version'), ...problems(401, 403, 404, 422) },
  });
  const review = createRoute({
    method: 'get',
    path: '/{namespace}/{name}/versions/{version}/review',
    operationId: 'getReview',
    tags: ['review'],
    summary: 'Lint findings and the diff against the last approved version',
    description: 'Roles: security, admin, and publishers for their own namespaces.',
    security: BEARER,
    middleware: [authorize(deps, ['admin', 'security', 'publisher'], 'reading a review')] as const,
    request: { params: VersionParams },
    responses: { 200: json(ReviewView, 'What a reviewer decides on'), ...problems(401, 403, 404, 422) },
  });
  const approve = decision('approveVersion', '/{namespace}/{name}/versions/{version}/approvals', 'Post a signed approval statement', 'Roles: security (a registered reviewer, not the publisher).', 'approving a version', ApprovalBody);
  const reject = decision('rejectVersion', '/{namespace}/{name}/versions/{version}/rejections', 'Reject a pending version', 'Roles: security.', 'rejecting a version', ReasonBody);
  const revoke = decision('revokeVersion', '/{namespace}/{name}/versions/{version}/revocations', 'Revoke a version', 'Roles: security.', 'revoking a version', ReasonBody);

  return router()
    .openapi(list, async (c) => {
      const q = c.req.valid('query');
      return c.json(await listServers(deps, q.search, q.cursor, q.limit), 200);
    })
    .openapi(server, async (c) => {
      const p = c.req.valid('param');
      return rawJson(await getServerJson(deps, nameOf(p.namespace, p.name)));
    })
    .openapi(version, async (c) => {
      const p = c.req.valid('param');
      return rawJson(await getVersionJson(deps, nameOf(p.namespace, p.name), versionOf(p.version)));
    })
    .openapi(review, async (c) => {
      const p = c.req.valid('param');
      const name = nameOf(p.namespace, p.name);
      // A publisher reads the reviews of its own namespaces only.
      await requireNamespace(deps, principalOf(c), name);
      return c.json(await reviewVersion(deps, name, versionOf(p.version)), 200);
    })
    .openapi(approve, async (c) => {
      const p = c.req.valid('param');
      return c.json(await approveVersion(deps, principalOf(c), nameOf(p.namespace, p.name), versionOf(p.version), c.req.valid('json').bundle), 201);
    })
    .openapi(reject, async (c) => {
      const p = c.req.valid('param');
      return c.json(await rejectVersion(deps, principalOf(c), nameOf(p.namespace, p.name), versionOf(p.version), c.req.valid('json').reason), 201);
    })
    .openapi(revoke, async (c) => {
      const p = c.req.valid('param');
      return c.json(await revokeVersion(deps, principalOf(c), nameOf(p.namespace, p.name), versionOf(p.version), c.req.valid('json').reason), 201);
    });
}
