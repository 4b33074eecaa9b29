import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Deps } from '../deps.js';
import { ServiceError } from '../errors.js';
import { caller, type Env, READ_ROLES } from '../http.js';
import { BEARER_OR_ANONYMOUS, problems } from './kit.js';
import { readCheckpoint, readConsistencyProof, readInclusionProof, readTileResource } from '../services/read-log.js';

/** Tiles and checkpoints below a signed size never change: cache them for a year. */
const IMMUTABLE = { 'cache-control': 'public, max-age=31536000, immutable' };
const size = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const Proof = z.object({
  logIndex: z.number().int(),
  kind: z.string(),
  subject: z.string(),
  form: z.string(),
  leafHash: z.string(),
  treeSize: z.number().int(),
  rootHash: z.string(),
  hashes: z.array(z.string()),
  checkpoint: z.string(),
  tlogEntry: z.record(z.string(), z.unknown()).optional(),
  bundle: z.record(z.string(), z.unknown()).optional(),
});
const Consistency = z.object({ from: z.number().int(), to: z.number().int(), hashes: z.array(z.string()), rootHash: z.string(), checkpoint: z.string().optional() });

const checkpointRoute = createRoute({
  method: 'get',
  path: '/checkpoint',
  operationId: 'getLogCheckpoint',
  tags: ['log'],
  security: BEARER_OR_ANONYMOUS,
  summary: "The log's newest signed checkpoint (C2SP tlog-checkpoint signed note)",
  responses: { 200: { description: 'The checkpoint envelope', content: { 'text/plain': { schema: z.string() } } }, ...problems(401, 403, 404) },
});
const proofRoute = createRoute({
  method: 'get',
  path: '/proof',
  operationId: 'getLogInclusionProof',
  tags: ['log'],
  security: BEARER_OR_ANONYMOUS,
  summary: 'Inclusion proof of a leaf (index, leaf hash or name@version) in the newest checkpoint, or the one of `size`',
  request: { query: z.object({ leaf: z.string().min(1).max(420), size: size.optional() }) },
  responses: { 200: { description: 'The proof, its checkpoint and the bundle tlogEntries item', content: { 'application/json': { schema: Proof } } }, ...problems(401, 403, 404, 422) },
});
const consistencyRoute = createRoute({
  method: 'get',
  path: '/consistency',
  operationId: 'getLogConsistencyProof',
  tags: ['log'],
  security: BEARER_OR_ANONYMOUS,
  summary: 'Consistency proof from the tree of `from` leaves to the one of `to` (default: the newest checkpoint)',
  request: { query: z.object({ from: size, to: size.optional() }) },
  responses: { 200: { description: 'RFC 9162 consistency proof', content: { 'application/json': { schema: Consistency } } }, ...problems(401, 403, 404, 422) },
});

/**
 * The transparency log's read API (issue 15), under `/v1/log`: the C2SP tlog-tiles resources
 * (`checkpoint`, `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`), inclusion and consistency
 * proofs. Readable by whoever may read the registry.
 */
export function logRoutes(deps: Deps) {
  const app = new OpenAPIHono<Env>({
    defaultHook: (result) => {
      if (!result.success) throw new ServiceError('REQUEST_INVALID', `invalid query: ${result.error.issues[0]?.path.join('.') ?? ''} ${result.error.issues[0]?.message ?? ''}`.trim());
    },
  });
  // Authentication before query validation: no token is 401 whatever the query.
  app.use('*', async (c, next) => {
    caller(c, deps, READ_ROLES, 'reading the log', { anonymous: true });
    await next();
  });
  app.openapi(checkpointRoute, (c) => {
    // The newest checkpoint changes: revalidate, never cache long.
    return c.text(readCheckpoint(deps).envelope, 200, { 'cache-control': 'no-cache' });
  });
  app.openapi(proofRoute, async (c) => {
    const q = c.req.valid('query');
    return c.json(await readInclusionProof(deps, q.leaf, q.size), 200);
  });
  app.openapi(consistencyRoute, (c) => {
    const q = c.req.valid('query');
    return c.json(readConsistencyProof(deps, q.from, q.to), 200);
  });
  // Tile paths span several segments (`tile/1/x001/234.p/17`): one wildcard route, parsed strictly.
  app.get('/tile/*', (c) => {
    const path = c.req.path.slice(c.req.path.indexOf('/tile/') + 1);
    const bytes = readTileResource(deps, path);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'application/octet-stream', ...IMMUTABLE });
  });
  return app;
}
