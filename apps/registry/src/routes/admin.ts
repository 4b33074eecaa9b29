import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import { ServiceError } from '../errors.js';
import { caller, readJson, type Env } from '../http.js';
import { addReviewer } from '../services/add-reviewer.js';
import { createToken } from '../services/create-token.js';
import { allowlistEntries, deleteAllowlist, getAllowlist, putAllowlist } from '../services/put-allowlist.js';
import { listTokens } from '../services/list-tokens.js';
import { registerCa } from '../services/register-ca.js';
import { revokeToken } from '../services/revoke-token.js';
import { AllowlistBody, CaBody, ReviewerBody, TokenBody } from '../schemas.js';

/** Governance: the allowlist, reviewers, organisation CAs and tokens. */
export function allowlistRoutes(deps: Deps) {
  return new Hono<Env>()
    .get('/', (c) => {
      caller(c, deps, ['admin', 'security'], 'reading the allowlist');
      return c.json({ entries: allowlistEntries(deps) });
    })
    .get('/:pattern', (c) => {
      caller(c, deps, ['admin', 'security'], 'reading the allowlist');
      const entry = getAllowlist(deps, c.req.param('pattern'));
      if (!entry) throw new ServiceError('NOT_FOUND', `no allowlist entry ${c.req.param('pattern')}`);
      return c.json(entry);
    })
    .put('/:pattern', async (c) => {
      const principal = caller(c, deps, ['admin'], 'changing the allowlist');
      const body = await readJson(c, AllowlistBody);
      return c.json(putAllowlist(deps, principal, c.req.param('pattern'), body.signers, body.builders));
    })
    .delete('/:pattern', (c) => {
      const principal = caller(c, deps, ['admin'], 'changing the allowlist');
      deleteAllowlist(deps, principal, c.req.param('pattern'));
      return c.body(null, 204);
    });
}

export function reviewerRoutes(deps: Deps) {
  return new Hono<Env>().post('/', async (c) => {
    const principal = caller(c, deps, ['admin'], 'registering a reviewer');
    const body = await readJson(c, ReviewerBody);
    return c.json(addReviewer(deps, principal, body.principal, body), 201);
  });
}

export function caRoutes(deps: Deps) {
  return new Hono<Env>().post('/', async (c) => {
    const principal = caller(c, deps, ['admin'], 'registering a certificate authority');
    const body = await readJson(c, CaBody);
    return c.json(registerCa(deps, principal, body.certificates), 201);
  });
}

/** `GET /v1/whoami`: the principal, role and namespaces of the calling token. */
export function whoamiRoutes(deps: Deps) {
  return new Hono<Env>().get('/', (c) => {
    const principal = caller(c, deps, ['admin', 'security', 'publisher', 'reader'], 'reading your token');
    return c.json({ principal: principal.name, role: principal.role, namespaces: principal.namespaces });
  });
}

export function tokenRoutes(deps: Deps) {
  return new Hono<Env>()
    .get('/', (c) => {
      caller(c, deps, ['admin'], 'listing tokens');
      return c.json(listTokens(deps));
    })
    .post('/', async (c) => {
      const principal = caller(c, deps, ['admin'], 'creating a token');
      const body = await readJson(c, TokenBody);
      return c.json(createToken(deps, principal, body), 201);
    })
    .delete('/:id', (c) => {
      const principal = caller(c, deps, ['admin'], 'revoking a token');
      return c.json(revokeToken(deps, principal, c.req.param('id')));
    });
}
