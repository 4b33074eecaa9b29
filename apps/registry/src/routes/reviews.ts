import { createRoute, z } from '@hono/zod-openapi';
import { ReviewQueue, RiskLevel, VersionStatus } from '@sigil/manifest';
import type { Deps } from '../deps.js';
import { reviewQueue } from '../services/review-version.js';
import { authorize, BEARER, json, problems, router } from './kit.js';

const ReviewQuery = z.strictObject({
  status: VersionStatus.default('pending').meta({ description: 'Which versions to list', example: 'pending' }),
  namespace: z.string().max(255).optional().openapi({ description: 'Only servers in this namespace', example: 'io.github.acme' }),
  publisher: z.string().max(128).optional().openapi({ description: 'Only versions this principal published' }),
  risk: RiskLevel.optional(),
  cursor: z.string().regex(/^\d{1,15}$/, 'a cursor is the `next` of the previous page').optional().openapi({ description: 'The `next` of the previous page' }),
  limit: z.coerce.number().int().min(1).max(500).default(100).openapi({ description: 'Versions per page (1-500)', example: 100 }),
});

/** `GET /v1/reviews?status=&namespace=&publisher=&risk=&cursor=&limit=`: the review queue, oldest first, paged. */
export function reviewRoutes(deps: Deps) {
  const queue = createRoute({
    method: 'get',
    path: '/',
    operationId: 'listReviews',
    tags: ['review'],
    summary: 'Review queue',
    description: 'Versions matching the filters (pending by default), oldest first; `next` continues. Roles: security, admin.',
    security: BEARER,
    middleware: [authorize(deps, ['security', 'admin'], 'reading the review queue')] as const,
    request: { query: ReviewQuery },
    responses: { 200: json(ReviewQueue, 'A page of the queue'), ...problems(401, 403, 422) },
  });
  return router().openapi(queue, async (c) => {
    const { cursor, limit, ...filter } = c.req.valid('query');
    return c.json(await reviewQueue(deps, { ...filter, ...(cursor ? { afterId: Number(cursor) } : {}) }, limit), 200);
  });
}
