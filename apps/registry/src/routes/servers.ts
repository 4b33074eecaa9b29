import { Hono } from 'hono';
import { serverNameProblem, versionProblem } from '@sigil/manifest';
import { z } from 'zod';
import type { Deps } from '../deps.js';
import { ServiceError } from '../errors.js';
import { caller, READ_ROLES, readJson, type Env } from '../http.js';
import { approveVersion } from '../services/approve-version.js';
import { requireNamespace } from '../services/authenticate.js';
import { listServers } from '../services/list-servers.js';
import { rejectVersion } from '../services/reject-version.js';
import { reviewVersion } from '../services/review-version.js';
import { revokeVersion } from '../services/revoke-version.js';
import { getServer, getVersionJson } from '../services/views.js';
import { ApprovalBody, ReasonBody } from '../schemas.js';

const ListQuery = z.object({ search: z.string().max(200).optional(), cursor: z.string().max(256).optional(), limit: z.coerce.number().int().min(1).max(100).default(30) });

function nameOf(namespace: string, server: string): string {
  const name = `${namespace}/${server}`;
  const problem = serverNameProblem(name);
  if (problem) throw new ServiceError('NAME_INVALID', problem);
  return name;
}

function versionOf(version: string): string {
  const problem = versionProblem(version);
  if (problem) throw new ServiceError('VERSION_INVALID', problem);
  return version;
}

/** `/v1/servers…`: reading servers and versions, and the decisions on a version. */
export function serverRoutes(deps: Deps) {
  return new Hono<Env>()
    .get('/', (c) => {
      caller(c, deps, READ_ROLES, 'listing servers', { anonymous: true });
      const query = ListQuery.safeParse(c.req.query());
      if (!query.success) throw new ServiceError('REQUEST_INVALID', query.error.issues[0]?.message ?? 'bad query');
      return c.json(listServers(deps, query.data.search, query.data.cursor, query.data.limit));
    })
    .get('/:namespace/:name', (c) => {
      caller(c, deps, READ_ROLES, 'reading a server', { anonymous: true });
      return c.json(getServer(deps, nameOf(c.req.param('namespace'), c.req.param('name'))));
    })
    .get('/:namespace/:name/versions/:version', (c) => {
      caller(c, deps, READ_ROLES, 'reading a version', { anonymous: true });
      const text = getVersionJson(deps, nameOf(c.req.param('namespace'), c.req.param('name')), versionOf(c.req.param('version')));
      return c.body(text, 200, { 'content-type': 'application/json' });
    })
    .get('/:namespace/:name/versions/:version/review', (c) => {
      const principal = caller(c, deps, ['admin', 'security', 'publisher'], 'reading a review');
      const name = nameOf(c.req.param('namespace'), c.req.param('name'));
      // A publisher reads the reviews of its own namespaces only.
      requireNamespace(deps, principal, name);
      return c.json(reviewVersion(deps, name, versionOf(c.req.param('version'))));
    })
    .post('/:namespace/:name/versions/:version/approvals', async (c) => {
      const principal = caller(c, deps, ['security'], 'approving a version');
      const name = nameOf(c.req.param('namespace'), c.req.param('name'));
      const version = versionOf(c.req.param('version'));
      const body = await readJson(c, ApprovalBody);
      return c.json(approveVersion(deps, principal, name, version, body.bundle), 201);
    })
    .post('/:namespace/:name/versions/:version/rejections', async (c) => {
      const principal = caller(c, deps, ['security'], 'rejecting a version');
      const name = nameOf(c.req.param('namespace'), c.req.param('name'));
      const version = versionOf(c.req.param('version'));
      const body = await readJson(c, ReasonBody);
      return c.json(rejectVersion(deps, principal, name, version, body.reason), 201);
    })
    .post('/:namespace/:name/versions/:version/revocations', async (c) => {
      const principal = caller(c, deps, ['security'], 'revoking a version');
      const name = nameOf(c.req.param('namespace'), c.req.param('name'));
      const version = versionOf(c.req.param('version'));
      const body = await readJson(c, ReasonBody);
      return c.json(revokeVersion(deps, principal, name, version, body.reason), 201);
    });
}
