import { createRoute } from '@hono/zod-openapi';
import { VersionRecord } from '@sigil/manifest';
import type { Deps } from '../deps.js';
import { publishVersion } from '../services/publish-version.js';
import { PublishBody } from '../schemas.js';
import { authorize, BEARER, json, jsonBody, principalOf, problems, router } from './kit.js';

/** `POST /v1/publish`: 201 with the new version, 200 with the existing one on a replay of the same manifest. */
export function publishRoutes(deps: Deps) {
  const publish = createRoute({
    method: 'post',
    path: '/',
    operationId: 'publishVersion',
    tags: ['publish'],
    summary: 'Publish a signed manifest',
    description:
      'Verifies the bundle against the exact manifest, the signer against the allowlist, lints the manifest and stores the version as pending. A replay of a stored version (the same manifest, with the stored bundle, or with a new signature that passes every check of a first publish) answers 200 with the stored version, unchanged; provenance other than the stored one (or provenance where none was stored) is 409 VERSION_EXISTS. Roles: publisher (within its namespaces), admin.',
    security: BEARER,
    middleware: [authorize(deps, ['publisher', 'admin'], 'publishing'), jsonBody] as const,
    request: { body: { required: true, content: { 'application/json': { schema: PublishBody } } } },
    responses: {
      201: json(VersionRecord, 'Published: the new version, pending review'),
      200: json(VersionRecord, 'A replay of the same manifest: the version already stored, unchanged'),
      ...problems(400, 401, 403, 409, 413, 415, 422),
    },
  });
  return router().openapi(publish, async (c) => {
    const { created, record } = await publishVersion(deps, principalOf(c), c.req.valid('json'));
    return created ? c.json(record, 201) : c.json(record, 200);
  });
}
