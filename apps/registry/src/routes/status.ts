import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import { caller, READ_ROLES, readJson, type Env } from '../http.js';
import { issueStatus } from '../services/issue-status.js';
import { StatusRequest } from '../schemas.js';

/** `POST /v1/status`: one signed, expiring status statement for the references asked. */
export function statusRoutes(deps: Deps) {
  return new Hono<Env>().post('/', async (c) => {
    caller(c, deps, READ_ROLES, 'reading status', { anonymous: true });
    const body = await readJson(c, StatusRequest);
    return c.json(await issueStatus(deps, body.refs, body.nonce, new URL(c.req.url).origin));
  });
}
