import { createRoute, z } from '@hono/zod-openapi';
import { AuditCheck, AuditPage } from '@sigil/manifest';
import type { Deps } from '../deps.js';
import { checkAudit, readAudit } from '../services/read-audit.js';
import { authorize, BEARER, json, problems, router } from './kit.js';

const AuditQuery = z.object({
  after: z.coerce.number().int().min(0).default(0).openapi({ description: 'Sequence number to continue after', example: 0 }),
  limit: z.coerce.number().int().min(1).max(1000).default(100).openapi({ description: 'Events per page (1-1000)', example: 100 }),
});

/** A chain head signed earlier (the `audit` of a signed status), to check the chain still holds it. */
const VerifyQuery = z
  .object({
    seq: z.coerce.number().int().min(0).optional().openapi({ description: 'Sequence number of a signed chain head' }),
    hash: z.string().regex(/^sha256:[0-9a-f]{64}$/).optional().openapi({ description: 'Hash of the event at `seq`, as signed' }),
  })
  .refine((q) => (q.seq === undefined) === (q.hash === undefined), 'seq and hash are given together');

/** `GET /v1/audit?after=`: hash-chained governance events, oldest first, with the chain check. */
export function auditRoutes(deps: Deps) {
  const readRoles = () => authorize(deps, ['security', 'admin'], 'reading the audit log');
  const page = createRoute({
    method: 'get',
    path: '/',
    operationId: 'readAudit',
    tags: ['audit'],
    summary: 'Hash-chained governance events',
    description: 'Oldest first; `next` continues. Roles: security, admin.',
    security: BEARER,
    middleware: [readRoles()] as const,
    request: { query: AuditQuery },
    responses: { 200: json(AuditPage, 'A page of events'), ...problems(401, 403, 422) },
  });
  const verify = createRoute({
    method: 'get',
    path: '/verify',
    operationId: 'verifyAudit',
    tags: ['audit'],
    summary: 'Verify the audit hash chain',
    description: 'Checks every event from the first, and with `seq` and `hash` that the chain still holds a head signed earlier. Roles: security, admin.',
    security: BEARER,
    middleware: [readRoles()] as const,
    request: { query: VerifyQuery },
    responses: { 200: json(AuditCheck, 'Whether the chain holds, or where it breaks'), ...problems(401, 403, 422) },
  });
  return router()
    .openapi(page, async (c) => {
      const q = c.req.valid('query');
      return c.json(await readAudit(deps, q.after, q.limit) as AuditPage, 200);
    })
    .openapi(verify, async (c) => {
      const q = c.req.valid('query');
      return c.json(await checkAudit(deps, q.seq === undefined ? undefined : { seq: q.seq, hash: q.hash! }), 200);
    });
}
