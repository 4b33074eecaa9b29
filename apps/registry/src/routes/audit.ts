import { Hono } from 'hono';
import { z } from 'zod';
import type { Deps } from '../deps.js';
import { ServiceError } from '../errors.js';
import { caller, type Env } from '../http.js';
import { checkAudit, readAudit } from '../services/read-audit.js';

const AuditQuery = z.object({ after: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(1000).default(100) });

/** A chain head signed earlier (the `audit` of a signed status), to check the chain still holds it. */
const VerifyQuery = z
  .object({ seq: z.coerce.number().int().min(0).optional(), hash: z.string().regex(/^sha256:[0-9a-f]{64}$/).optional() })
  .refine((q) => (q.seq === undefined) === (q.hash === undefined));

/** `GET /v1/audit?after=`: hash-chained governance events, oldest first, with the chain check. */
export function auditRoutes(deps: Deps) {
  return new Hono<Env>()
    .get('/', (c) => {
      caller(c, deps, ['security', 'admin'], 'reading the audit log');
      const q = AuditQuery.safeParse(c.req.query());
      if (!q.success) throw new ServiceError('REQUEST_INVALID', 'after and limit are whole numbers');
      return c.json(readAudit(deps, q.data.after, q.data.limit));
    })
    .get('/verify', (c) => {
      caller(c, deps, ['security', 'admin'], 'verifying the audit log');
      const q = VerifyQuery.safeParse(c.req.query());
      if (!q.success) throw new ServiceError('REQUEST_INVALID', 'seq is a whole number and hash a sha256:<hex> digest, given together');
      return c.json(checkAudit(deps, q.data.seq === undefined ? undefined : { seq: q.data.seq, hash: q.data.hash! }));
    });
}
