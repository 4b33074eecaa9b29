import { Hono } from 'hono';
import { RiskLevel, VersionStatus } from '@sigil/manifest';
import { z } from 'zod';
import type { Deps } from '../deps.js';
import { ServiceError } from '../errors.js';
import { caller, type Env } from '../http.js';
import { reviewQueue } from '../services/review-version.js';

const ReviewQuery = z.strictObject({
  status: VersionStatus.default('pending'),
  namespace: z.string().max(255).optional(),
  publisher: z.string().max(128).optional(),
  risk: RiskLevel.optional(),
  cursor: z.string().regex(/^\d{1,15}$/, 'a cursor is the `next` of the previous page').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** `GET /v1/reviews?status=&namespace=&publisher=&risk=&cursor=&limit=`: the review queue, oldest first, paged. */
export function reviewRoutes(deps: Deps) {
  return new Hono<Env>().get('/', (c) => {
    caller(c, deps, ['security', 'admin'], 'reading the review queue');
    const q = ReviewQuery.safeParse(c.req.query());
    if (!q.success) throw new ServiceError('REQUEST_INVALID', `the query is invalid at ${q.error.issues[0]?.path.join('.')}: ${q.error.issues[0]?.message}`);
    const { cursor, limit, ...filter } = q.data;
    return c.json(reviewQueue(deps, { ...filter, ...(cursor ? { afterId: Number(cursor) } : {}) }, limit));
  });
}
