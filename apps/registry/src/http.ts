import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import type { Deps, Principal, Role } from './deps.js';
import { ServiceError } from './errors.js';
import { authenticate, requireRole, type AuthFailure } from './services/authenticate.js';

/** Deepest JSON nesting accepted in a request body (a manifest inside it has its own bound of 32). */
export const MAX_BODY_DEPTH = 64;

/** Node bindings are absent when tests call `app.request` in-process (there is no socket then). */
export type Env = { Bindings: Partial<HttpBindings>; Variables: { requestId: string; principal?: Principal; limitToken: (key: string) => number | Promise<number>; authFailed: (reason: AuthFailure) => void; clientAddress: string } };

/** Authenticates the caller and checks its role; the principal comes from the token only. */
export async function caller(c: Context<Env>, deps: Deps, roles: readonly Role[], action: string, options: { anonymous?: boolean } = {}): Promise<Principal> {
  const principal = await authenticate(deps, c.req.header('authorization'), options.anonymous ?? false, c.get('authFailed'));
  if (principal.tokenId) {
    const hit = c.get('limitToken')(principal.tokenId);
    const wait = typeof hit === 'number' ? hit : await hit;
    if (wait > 0) throw new ServiceError('RATE_LIMITED', `too many requests for this token; retry in ${wait} s`, { retryAfter: wait });
  }
  await requireRole(deps, principal, roles, action);
  c.set('principal', principal);
  return principal;
}

export const READ_ROLES: readonly Role[] = ['admin', 'security', 'publisher', 'reader'];
