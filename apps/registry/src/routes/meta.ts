import { Hono } from 'hono';
import type { KeysResponse } from '@sigil/manifest';
import type { Deps } from '../deps.js';
import { ServiceError } from '../errors.js';
import type { Env } from '../http.js';
import { openApiDocument } from '../openapi.js';
import { trustedRoot } from '../services/register-ca.js';

const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sigil registry API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}code{background:#f3f3f3;padding:0 .2rem}li{margin:.3rem 0}</style></head>
<body><h1>Sigil registry API</h1><p>The OpenAPI 3.1 document is at <a href="/openapi.json"><code>/openapi.json</code></a>. Errors are RFC 9457 <code>application/problem+json</code> with a stable <code>code</code> and a <code>requestId</code>.</p>
<ul id="ops"></ul>
<script>fetch('/openapi.json').then(r=>r.json()).then(d=>{const ul=document.getElementById('ops');for(const [p,ops] of Object.entries(d.paths))for(const [m,o] of Object.entries(ops)){const li=document.createElement('li');li.textContent=m.toUpperCase()+' '+p+' — '+(o.summary||'');ul.appendChild(li)}})</script>
</body></html>`;

/** Health, documentation, metrics, and the registry's trust material. */
export function metaRoutes(deps: Deps) {
  return new Hono<Env>()
    .get('/healthz', (c) => c.json({ ok: true }))
    .get('/openapi.json', (c) => c.json(openApiDocument()))
    .get('/docs', (c) => c.html(DOCS_HTML))
    .get('/metrics', async (c) => c.text(await deps.metrics.registry.metrics(), 200, { 'content-type': deps.metrics.registry.contentType }))
    .get('/v1/keys', (c) => {
      const body: KeysResponse = { keys: [{ use: 'status', publicKey: deps.keys.statusPublicKey, fingerprint: deps.keys.statusFingerprint, createdAt: deps.keys.statusCreatedAt }] };
      return c.json(body);
    })
    .get('/v1/trusted-root', (c) => c.json(trustedRoot(deps)))
    .post('/api/v1/timestamp', async (c) => {
      const type = c.req.header('content-type') ?? 'application/json';
      const body = new Uint8Array(await c.req.arrayBuffer());
      let reply: Uint8Array;
      try {
        reply = await deps.keys.timestamp(body, type);
      } catch (e) {
        throw new ServiceError('TIMESTAMP_INVALID', `the timestamp request is not valid: ${(e as Error).message}`, {}, { cause: e });
      }
      return c.body(reply as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'application/timestamp-reply' });
    });
}
