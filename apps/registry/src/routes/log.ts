import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Deps } from '../deps.js';
import { ServiceError } from '../errors.js';
import { caller, type Env, READ_ROLES } from '../http.js';
import { LogConsistencyProof, LogProofsRequest, LogProofsResponse } from '@sigil/manifest';
import { BEARER_OR_ANONYMOUS, json, jsonBody, problems } from './kit.js';
import { readCheckpoint, readConsistencyProof, readInclusionProof, readTileResource, readVersionProofs } from '../services/read-log.js';

/** Tiles and checkpoints below a signed size never change: cache them for a year. */
const IMMUTABLE = { 'cache-control': 'public, max-age=31536000, immutable' };
/**
 * A tree size or leaf index in a query: decimal digits without a sign, spaces, exponent or leading
 * zero, at most 2^53 - 1. `z.coerce.number()` took '' as 0 and '1e1', '0x1', ' 1' as numbers, so
 * one size had many spellings.
 */
const size = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,15})$/, 'a decimal integer without sign or leading zeros')
  .transform(Number)
  .refine((n) => Number.isSafeInteger(n), 'at most 2^53 - 1');

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
const versionProofsRoute = createRoute({
  method: 'post',
  path: '/proofs',
  operationId: 'getLogVersionProofs',
  tags: ['log'],
  security: BEARER_OR_ANONYMOUS,
  summary: "Inclusion proofs of versions' manifest and approval signatures in one signed tree",
  description:
    'For each `name@version`, the `dsse` entries of its manifest signature and approvals with their inclusion proofs in one checkpoint (the newest, once it covers them; or the one signed at `size`). What a host checks its whole lock against. Roles: reader and up (or anonymous).',
  middleware: [jsonBody] as const,
  request: { body: { required: true, content: { 'application/json': { schema: LogProofsRequest.meta({ example: { refs: ['io.github.acme/weather@1.2.0'] } }) } } } },
  responses: { 200: json(LogProofsResponse, 'The checkpoint envelope and each entry with its inclusion proof'), ...problems(400, 401, 403, 404, 413, 415, 422) },
});
const consistencyRoute = createRoute({
  method: 'get',
  path: '/consistency',
  operationId: 'getLogConsistencyProof',
  tags: ['log'],
  security: BEARER_OR_ANONYMOUS,
  summary: 'Consistency proof from the tree of `from` leaves to the one of `to` (default: the newest checkpoint)',
  request: { query: z.object({ from: size, to: size.optional() }) },
  responses: { 200: { description: 'RFC 9162 consistency proof', content: { 'application/json': { schema: LogConsistencyProof } } }, ...problems(401, 403, 404, 422) },
});

/**
 * Tiles and entry bundles: one wildcard route in Hono (a tile path spans several segments), so the
 * document describes it here and the handler below serves it. OpenAPI has no multi-segment path
 * parameter; `tilePath` says in words that it spans segments.
 */
const tileRoute = createRoute({
  method: 'get',
  path: '/tile/{tilePath}',
  operationId: 'getLogTile',
  tags: ['log'],
  security: BEARER_OR_ANONYMOUS,
  summary: 'A C2SP tlog-tiles hash tile or entry bundle (immutable once served)',
  description:
    "`tilePath` spans several path segments and is read as sent, never percent-decoded: `<L>/<N>[.p/<W>]` for a hash tile of level L, `entries/<N>[.p/<W>]` for an entry bundle, N in the spec's `x`-prefixed three-digit groups (`x001/234`). A tile beyond the newest checkpoint is 404; a path that is not the canonical spelling of a tile is 422.",
  request: { params: z.object({ tilePath: z.string().meta({ description: 'The tile path after `tile/`, several segments', example: '0/000.p/1' }) }) },
  responses: {
    200: { description: 'The tile: hashes of 32 bytes each, or an entry bundle', content: { 'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) } } },
    ...problems(401, 403, 404, 422),
  },
});

/**
 * The transparency log's read API (issue 15), under `/v1/log`: the C2SP tlog-tiles resources
 * (`checkpoint`, `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`), inclusion and consistency
 * proofs. Readable by whoever may read the registry.
 */
export function logRoutes(deps: Deps) {
  const app = new OpenAPIHono<Env>({
    defaultHook: (result, c) => {
      // The proofs route's request is a body; every other route here reads a query.
      if (!result.success) throw new ServiceError('REQUEST_INVALID', `invalid ${c.req.method === 'POST' ? 'body' : 'query'}: ${result.error.issues[0]?.path.join('.') ?? ''} ${result.error.issues[0]?.message ?? ''}`.trim());
    },
  });
  // Authentication before query validation: no token is 401 whatever the query.
  app.use('*', async (c, next) => {
    await caller(c, deps, READ_ROLES, 'reading the log', { anonymous: true });
    await next();
  });
  app.openapi(checkpointRoute, async (c) => {
    // The newest checkpoint changes: revalidate, never cache long.
    return c.text((await readCheckpoint(deps)).envelope, 200, { 'cache-control': 'no-cache' });
  });
  app.openapi(proofRoute, async (c) => {
    const q = c.req.valid('query');
    return c.json(await readInclusionProof(deps, q.leaf, q.size), 200);
  });
  app.openapi(versionProofsRoute, async (c) => {
    const body = c.req.valid('json');
    return c.json(await readVersionProofs(deps, body.refs, body.size), 200);
  });
  app.openapi(consistencyRoute, async (c) => {
    const q = c.req.valid('query');
    return c.json(await readConsistencyProof(deps, q.from, q.to), 200);
  });
  // Tile paths span several segments (`tile/1/x001/234.p/17`): one wildcard route, parsed strictly.
  app.openAPIRegistry.registerPath(tileRoute);
  app.get('/tile/*', async (c) => {
    // The raw path, not the decoded one: `tile/0/%30%30%30` is not a spelling of `tile/0/000`.
    const raw = new URL(c.req.url).pathname;
    const path = raw.slice(raw.indexOf('/tile/') + 1);
    const bytes = await readTileResource(deps, path);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'application/octet-stream', ...IMMUTABLE });
  });
  return app;
}
