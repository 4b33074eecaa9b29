import { Hono } from 'hono';
import { VersionStatus } from '@sigil/manifest';
import type { Deps } from '../deps.js';
import { ServiceError } from '../errors.js';
import { caller, type Env } from '../http.js';
import { reviewQueue } from '../services/review-version.js';

/** `GET /v1/reviews?status=pending`: the review queue, oldest first. */
export function reviewRoutes(deps: Deps) {
  return new Hono<Env>().get('/', (c) => {
    caller(c, deps, ['security', 'admin'], 'reading the review queue');
    const raw = c.req.query('status') ?? 'pending';
    const status = VersionStatus.safeParse(raw);
    if (!status.success) throw new ServiceError('REQUEST_INVALID', 'status is one of pending, approved, rejected, revoked');
    return c.json({ reviews: reviewQueue(deps, status.data, 500) });
  });
}
