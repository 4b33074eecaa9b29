import { createRoute, z } from '@hono/zod-openapi';
import { AllowlistEntry, AllowlistList, CaRecord, ReviewerList, ReviewerRecord, ReviewerRemoved, TokenCreated, TokenList, TokenRevoked, Whoami } from '@sigil/manifest';
import type { Deps } from '../deps.js';
import { ServiceError } from '../errors.js';
import { READ_ROLES } from '../http.js';
import { addReviewer, removeReviewer, reviewerBindings } from '../services/add-reviewer.js';
import { createToken } from '../services/create-token.js';
import { allowlistEntries, deleteAllowlist, getAllowlist, putAllowlist } from '../services/put-allowlist.js';
import { listTokens } from '../services/list-tokens.js';
import { registerCa } from '../services/register-ca.js';
import { revokeToken } from '../services/revoke-token.js';
import { AllowlistBody, CaBody, ReviewerBody, TokenBody } from '../schemas.js';
import { authorize, BEARER, json, jsonBody, principalOf, problems, router } from './kit.js';

const PatternParams = z.object({ pattern: z.string().max(256).openapi({ example: 'io.github.acme', description: 'A namespace, or a pattern ending in ".*"' }) });
const body = <S extends z.ZodType>(schema: S) => ({ required: true, content: { 'application/json': { schema } } });

/** Governance: the allowlist. */
export function allowlistRoutes(deps: Deps) {
  const reader = () => authorize(deps, ['admin', 'security'], 'reading the allowlist');
  const writer = () => authorize(deps, ['admin'], 'changing the allowlist');
  const list = createRoute({
    method: 'get', path: '/', operationId: 'listAllowlist', tags: ['governance'], summary: 'Allowlist entries',
    description: 'Who may sign in which namespace. Roles: admin, security.', security: BEARER, middleware: [reader()] as const,
    responses: { 200: json(AllowlistList, 'Every entry'), ...problems(401, 403) },
  });
  const one = createRoute({
    method: 'get', path: '/{pattern}', operationId: 'getAllowlistEntry', tags: ['governance'], summary: 'One allowlist entry',
    description: 'Roles: admin, security.', security: BEARER, middleware: [reader()] as const, request: { params: PatternParams },
    responses: { 200: json(AllowlistEntry, 'The entry'), ...problems(401, 403, 404, 422) },
  });
  const put = createRoute({
    method: 'put', path: '/{pattern}', operationId: 'putAllowlistEntry', tags: ['governance'], summary: 'Set the signers of a namespace pattern',
    description: 'Replaces the entry’s signer list. Roles: admin.', security: BEARER, middleware: [writer(), jsonBody] as const,
    request: { params: PatternParams, body: body(AllowlistBody) },
    responses: { 200: json(AllowlistEntry, 'The entry as stored'), ...problems(400, 401, 403, 413, 415, 422) },
  });
  const remove = createRoute({
    method: 'delete', path: '/{pattern}', operationId: 'deleteAllowlistEntry', tags: ['governance'], summary: 'Remove a namespace pattern',
    description: 'Roles: admin.', security: BEARER, middleware: [writer()] as const, request: { params: PatternParams },
    responses: { 204: { description: 'Removed' }, ...problems(401, 403, 404, 413, 422) },
  });
  return router()
    .openapi(list, async (c) => c.json({ entries: await allowlistEntries(deps) }, 200))
    .openapi(one, async (c) => {
      const { pattern } = c.req.valid('param');
      const entry = await getAllowlist(deps, pattern);
      if (!entry) throw new ServiceError('NOT_FOUND', `no allowlist entry ${pattern}`);
      return c.json(entry, 200);
    })
    .openapi(put, async (c) => c.json(await putAllowlist(deps, principalOf(c), c.req.valid('param').pattern, c.req.valid('json').signers, c.req.valid('json').builders), 200))
    .openapi(remove, async (c) => {
      await deleteAllowlist(deps, principalOf(c), c.req.valid('param').pattern);
      return c.body(null, 204);
    });
}

/** Governance: reviewer principals bound to keys or certificate identities. */
export function reviewerRoutes(deps: Deps) {
  const add = createRoute({
    method: 'post', path: '/', operationId: 'addReviewer', tags: ['governance'], summary: 'Bind a reviewer principal to a key or certificate identity',
    description: 'An identity is bound to the CA that must issue its certificates (`ca`; left out: the only registered CA, refused while several are registered). Roles: admin.', security: BEARER, middleware: [authorize(deps, ['admin'], 'registering a reviewer'), jsonBody] as const,
    request: { body: body(ReviewerBody) },
    responses: { 201: json(ReviewerRecord, 'The binding'), ...problems(400, 401, 403, 409, 413, 415, 422) },
  });
  const list = createRoute({
    method: 'get', path: '/', operationId: 'listReviewers', tags: ['governance'], summary: 'Reviewer bindings',
    description: 'Every reviewer principal and the keys or identities (with their CA) its approvals must be signed with. Roles: admin, security.', security: BEARER,
    middleware: [authorize(deps, ['admin', 'security'], 'reading the reviewers')] as const,
    responses: { 200: json(ReviewerList, 'The bindings'), ...problems(401, 403) },
  });
  const remove = createRoute({
    method: 'delete', path: '/{principal}', operationId: 'removeReviewer', tags: ['governance'], summary: 'Remove a reviewer binding',
    description: 'Removes the binding named by `fingerprint` (as listed), or every binding of the principal. Approvals already recorded stay; new ones signed with a removed key or identity are refused. Audited (`reviewer.remove`). Roles: admin.', security: BEARER,
    middleware: [authorize(deps, ['admin'], 'removing a reviewer')] as const,
    request: {
      params: z.object({ principal: z.string().max(128).openapi({ description: 'The reviewer principal' }) }),
      query: z.object({ fingerprint: z.string().min(1).max(2048).optional().openapi({ description: 'The binding to remove (its fingerprint); all of the principal’s when left out' }) }),
    },
    responses: { 200: json(ReviewerRemoved, 'The bindings removed'), ...problems(401, 403, 404, 413, 422) },
  });
  return router()
    .openapi(list, async (c) => c.json({ reviewers: await reviewerBindings(deps) }, 200))
    .openapi(add, async (c) => {
      const b = c.req.valid('json');
      return c.json(await addReviewer(deps, principalOf(c), b.principal, b), 201);
    })
    .openapi(remove, async (c) => c.json(await removeReviewer(deps, principalOf(c), c.req.valid('param').principal, c.req.valid('query').fingerprint), 200));
}

/** Governance: organisation certificate authorities. */
export function caRoutes(deps: Deps) {
  const add = createRoute({
    method: 'post', path: '/', operationId: 'registerCertificateAuthority', tags: ['governance'], summary: 'Register an organisation CA (PEM chain)',
    description: 'Issuing CA first, root last. Roles: admin.', security: BEARER, middleware: [authorize(deps, ['admin'], 'registering a certificate authority'), jsonBody] as const,
    request: { body: body(CaBody) },
    responses: { 201: json(CaRecord, 'The CA’s fingerprint'), ...problems(400, 401, 403, 409, 413, 415, 422) },
  });
  return router().openapi(add, async (c) => c.json(await registerCa(deps, principalOf(c), c.req.valid('json').certificates), 201));
}

/** `GET /v1/whoami`: the principal, role and namespaces of the calling token. */
export function whoamiRoutes(deps: Deps) {
  const me = createRoute({
    method: 'get', path: '/', operationId: 'whoami', tags: ['governance'], summary: 'The calling token’s principal, role and namespaces',
    description: 'Roles: any token.', security: BEARER, middleware: [authorize(deps, READ_ROLES, 'reading your token')] as const,
    responses: { 200: json(Whoami, 'The principal'), ...problems(401) },
  });
  return router().openapi(me, (c) => {
    const p = principalOf(c);
    return c.json({ principal: p.name, role: p.role, namespaces: p.namespaces }, 200);
  });
}

/** Governance: tokens. */
export function tokenRoutes(deps: Deps) {
  const create = createRoute({
    method: 'post', path: '/', operationId: 'createToken', tags: ['governance'], summary: 'Create a token',
    description: 'The secret is in the answer once; only its hash is stored. Roles: admin.', security: BEARER,
    middleware: [authorize(deps, ['admin'], 'creating a token'), jsonBody] as const,
    request: { body: body(TokenBody.meta({ example: { principal: 'acme-ci', role: 'publisher', namespaces: ['io.github.acme'] } })) },
    responses: { 201: json(TokenCreated, 'The token, with its secret'), ...problems(400, 401, 403, 413, 415, 422) },
  });
  const list = createRoute({
    method: 'get', path: '/', operationId: 'listTokens', tags: ['governance'], summary: 'Tokens issued, newest first',
    description: 'Ids, principals, roles, expiry and revocation; never a secret or its hash. Roles: admin.', security: BEARER,
    middleware: [authorize(deps, ['admin'], 'listing tokens')] as const,
    responses: { 200: json(TokenList, 'The tokens'), ...problems(401, 403) },
  });
  const revoke = createRoute({
    method: 'delete', path: '/{id}', operationId: 'revokeToken', tags: ['governance'], summary: 'Revoke a token',
    description: 'Refused on its next request. Roles: admin.', security: BEARER, middleware: [authorize(deps, ['admin'], 'revoking a token')] as const,
    request: { params: z.object({ id: z.string().regex(/^[0-9a-f]{16}$/, 'a token id is 16 hexadecimal digits (POST /v1/tokens and GET /v1/tokens give it), not the token itself').openapi({ description: 'The token id from POST /v1/tokens (16 hexadecimal digits)' }) }) },
    responses: { 200: json(TokenRevoked, 'Revoked'), ...problems(401, 403, 404, 409, 413, 422) },
  });
  return router()
    .openapi(list, async (c) => c.json(await listTokens(deps), 200))
    .openapi(create, async (c) => c.json(await createToken(deps, principalOf(c), c.req.valid('json')), 201))
    .openapi(revoke, async (c) => c.json(await revokeToken(deps, principalOf(c), c.req.valid('param').id), 200));
}
