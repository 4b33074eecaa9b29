import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import { caller, readJson, type Env } from '../http.js';
import { publishVersion } from '../services/publish-version.js';
import { PublishBody } from '../schemas.js';

/** `POST /v1/publish`: 201 with the new version, 200 with the existing one on an identical replay. */
export function publishRoutes(deps: Deps) {
  return new Hono<Env>().post('/', async (c) => {
    const principal = caller(c, deps, ['publisher', 'admin'], 'publishing');
    const body = await readJson(c, PublishBody);
    const { created, record } = publishVersion(deps, principal, body);
    return c.json(record, created ? 201 : 200);
  });
}
