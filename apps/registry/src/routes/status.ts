import { createRoute } from '@hono/zod-openapi';
import { StatusResponse } from '@sigil/manifest';
import { TrustedProxies } from '../client-address.js';
import type { Deps } from '../deps.js';
import { READ_ROLES } from '../http.js';
import { issueStatus } from '../services/issue-status.js';
import { StatusRequest } from '../schemas.js';
import { authorize, BEARER_OR_ANONYMOUS, json, jsonBody, problems, requestOrigin, router } from './kit.js';

/** `POST /v1/status`: one signed, expiring status statement for the references asked. */
export function statusRoutes(deps: Deps) {
  const status = createRoute({
    method: 'post',
    path: '/',
    operationId: 'issueStatus',
    tags: ['status'],
    summary: 'Signed, expiring status of versions',
    description:
      'One in-toto statement, signed with the registry’s status key (GET /v1/keys), covering every reference asked and echoing the nonce. With `batch: true` the statement is signed as a leaf of a Merkle tree over the answers of a short window: `bundle` signs the tree’s root, `statement` and `proof` are this answer’s leaf and inclusion path. Roles: reader and up (or anonymous).',
    security: BEARER_OR_ANONYMOUS,
    middleware: [authorize(deps, READ_ROLES, 'reading status', { anonymous: true }), jsonBody] as const,
    request: { body: { required: true, content: { 'application/json': { schema: StatusRequest.meta({ example: { refs: ['io.github.acme/weather@1.2.0'], nonce: 'c2lnaWwtbm9uY2UtMDAwMQ', batch: true } }) } } } },
    responses: { 200: json(StatusResponse, 'A Sigstore bundle of the signed status statement'), ...problems(400, 401, 403, 413, 415, 422) },
  });
  const trusted = new TrustedProxies(deps.settings.trustedProxies);
  return router().openapi(status, async (c) => {
    const body = c.req.valid('json');
    // The registry the statement names: SIGIL_PUBLIC_URL when set, never a Host the client chose (public-origin.ts).
    return c.json(await issueStatus(deps, body.refs, body.nonce, requestOrigin(deps.settings.publicOrigin, trusted, c), body.batch === true), 200);
  });
}
