import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createRoute, z } from '@hono/zod-openapi';
import { Health, KeysResponse, TrustedRootView } from '@sigil/manifest';
import { MAX_TIMESTAMP_REQUEST_BYTES, TIMESTAMP_QUERY_CONTENT_TYPE } from '@sigil/signing/sign';
import type { Deps } from '../deps.js';
import { ServiceError } from '../errors.js';
import { checkReady } from '../services/check-ready.js';
import { trustedRoot } from '../services/register-ca.js';
import { bodyText, checkJsonText, isJsonMediaType, json, NO_AUTH, problems, router } from './kit.js';

/** The Swagger UI page: its scripts and styles come from the swagger-ui-dist package, served here (no CDN). */
const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sigil registry API</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>`;
const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null });\n`;

const ASSETS: Record<string, { file: string; type: string }> = {
  'swagger-ui.css': { file: 'swagger-ui.css', type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { file: 'swagger-ui-bundle.js', type: 'text/javascript; charset=utf-8' },
};
const assetCache = new Map<string, string>();
/** Read on first use and kept: the package's files do not change while the registry runs. */
function asset(name: string): string {
  let text = assetCache.get(name);
  if (text === undefined) {
    const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
    text = readFileSync(join(dir, ASSETS[name]!.file), 'utf8');
    assetCache.set(name, text);
  }
  return text;
}

/** `application/timestamp-query`, any case, then only `;name=value` parameters (as JSON types are matched in kit.ts). */
const TIMESTAMP_QUERY_TYPE = /^application\/timestamp-query(;\s*[a-z0-9-]+=[^;]+)*$/i;

const OpenApiDocument = z.looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) });

/** Health, documentation, metrics, and the registry's trust material. */
export function metaRoutes(deps: Deps, document: (origin: string) => Record<string, unknown>) {
  const get = (path: string, operationId: string, tags: string[], summary: string, description: string) => ({ method: 'get' as const, path, operationId, tags, summary, description, security: NO_AUTH });
  const health = createRoute({ ...get('/healthz', 'health', ['meta'], 'Liveness', 'Answers while the process serves requests.'), responses: { 200: json(Health, 'Alive'), ...problems() } });
  const ready = createRoute({
    ...get('/readyz', 'ready', ['meta'], 'Readiness', 'Answers 200 when the database answers and holds every migration; 503 NOT_READY otherwise (take the instance out of the balancer).'),
    responses: { 200: json(Health, 'Ready'), ...problems(503) },
  });
  const openapi = createRoute({ ...get('/openapi.json', 'getOpenApiDocument', ['meta'], 'This OpenAPI 3.1 document', 'Generated from the same zod schemas the handlers validate with.'), responses: { 200: json(OpenApiDocument, 'The document'), ...problems() } });
  const docs = createRoute({
    ...get('/docs', 'getDocs', ['meta'], 'API documentation page', 'Swagger UI over /openapi.json, served from the swagger-ui-dist package.'),
    responses: { 200: { description: 'An HTML page', content: { 'text/html': { schema: z.string() } } }, ...problems() },
  });
  const docsAsset = createRoute({
    ...get('/docs/{asset}', 'getDocsAsset', ['meta'], 'A script or style of the documentation page', 'The files of the swagger-ui-dist package.'),
    hide: true,
    request: { params: z.object({ asset: z.string() }) },
    responses: { 200: { description: 'The file' }, ...problems(404) },
  });
  const metrics = createRoute({
    ...get('/metrics', 'getMetrics', ['meta'], 'Prometheus metrics', 'Requests, latency, publishes and refusals by code.'),
    responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } }, ...problems() },
  });
  const keys = createRoute({
    ...get('/v1/keys', 'getKeys', ['trust'], 'The registry’s status-signing key', 'Pin its fingerprint in the host policy, compared out of band.'),
    responses: { 200: json(KeysResponse, 'The keys'), ...problems() },
  });
  const root = createRoute({
    ...get('/v1/trusted-root', 'getTrustedRoot', ['trust'], 'The registry’s Sigstore trusted_root.json', 'Registered organisation CAs and the registry’s timestamp authority.'),
    responses: { 200: json(TrustedRootView, 'A Sigstore trusted root'), ...problems() },
  });
  const timestamp = createRoute({
    method: 'post',
    path: '/api/v1/timestamp',
    operationId: 'timestamp',
    tags: ['trust'],
    summary: 'RFC 3161 timestamp',
    description: `The Sigstore timestamp-authority request format (JSON; also when no Content-Type is sent) or a DER TimeStampReq (application/timestamp-query), at most ${MAX_TIMESTAMP_REQUEST_BYTES} bytes (413 PAYLOAD_TOO_LARGE). A JSON request is held to the limits of every JSON body: nested deeper than 64 is 413, a repeated key 422 REQUEST_INVALID, broken syntax 400 BAD_REQUEST; any other Content-Type is 415.`,
    security: NO_AUTH,
    request: {
      body: {
        required: true,
        content: {
          'application/json': { schema: { type: 'object', description: 'Sigstore timestamp-authority JSON request (artifactHash, hashAlgorithm, nonce, certificates)' } },
          'application/timestamp-query': { schema: { type: 'string', format: 'binary' } },
        },
      },
    },
    responses: { 200: { description: 'A DER TimeStampResp', content: { 'application/timestamp-reply': { schema: { type: 'string', format: 'binary' } } } }, ...problems(400, 413, 415, 422) },
  });

  return router()
    .openapi(health, (c) => c.json({ ok: true as const }, 200))
    .openapi(ready, async (c) => {
      await checkReady(deps);
      return c.json({ ok: true as const }, 200);
    })
    .openapi(openapi, (c) => c.json(document(new URL(c.req.url).origin) as z.infer<typeof OpenApiDocument>, 200))
    .openapi(docs, (c) => c.html(DOCS_HTML, 200))
    .openapi(docsAsset, (c) => {
      const name = c.req.valid('param').asset;
      if (name === 'init.js') return c.body(DOCS_INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' });
      const known = ASSETS[name];
      if (!known) throw new ServiceError('NOT_FOUND', `no documentation asset ${name}`);
      return c.body(asset(name), 200, { 'content-type': known.type, 'cache-control': 'public, max-age=3600' });
    })
    .openapi(metrics, async (c) => c.text(await deps.metrics.registry.metrics(), 200, { 'content-type': deps.metrics.registry.contentType }))
    .openapi(keys, (c) => c.json({ keys: [{ use: 'status' as const, publicKey: deps.keys.statusPublicKey, fingerprint: deps.keys.statusFingerprint, createdAt: deps.keys.statusCreatedAt }] }, 200))
    .openapi(root, async (c) => c.json(await trustedRoot(deps), 200))
    .openapi(timestamp, async (c) => {
      // JSON or DER is decided once, here, and the responder is told which: a type it would read as
      // JSON must not step around the JSON checks below (depth, repeated keys: kit.ts jsonBody).
      const type = c.req.header('content-type') ?? '';
      const isJson = type === '' || isJsonMediaType(type);
      if (!isJson && !TIMESTAMP_QUERY_TYPE.test(type)) throw new ServiceError('UNSUPPORTED_MEDIA_TYPE', `send the timestamp request as application/json or ${TIMESTAMP_QUERY_CONTENT_TYPE}`);
      const body = new Uint8Array(await c.req.arrayBuffer());
      if (body.byteLength > MAX_TIMESTAMP_REQUEST_BYTES) throw new ServiceError('PAYLOAD_TOO_LARGE', `a timestamp request is at most ${MAX_TIMESTAMP_REQUEST_BYTES} bytes`);
      if (isJson) checkJsonText(bodyText(body));
      let reply: Uint8Array;
      try {
        reply = await deps.keys.timestamp(body, isJson ? 'application/json' : TIMESTAMP_QUERY_CONTENT_TYPE);
      } catch (e) {
        throw new ServiceError('TIMESTAMP_INVALID', `the timestamp request is not valid: ${(e as Error).message}`, {}, { cause: e });
      }
      return c.body(reply as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'application/timestamp-reply' });
    });
}
