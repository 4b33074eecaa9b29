import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { scanJson } from '@sigil/manifest';
import type { z } from 'zod';
import type { Deps, Principal, Role } from './deps.js';
import { ServiceError } from './errors.js';
import { authenticate, requireRole, type AuthFailure } from './services/authenticate.js';

/** Deepest JSON nesting accepted in a request body (a manifest inside it has its own bound of 32). */
export const MAX_BODY_DEPTH = 64;

/** Node bindings are absent when tests call `app.request` in-process (there is no socket then). */
export type Env = { Bindings: Partial<HttpBindings>; Variables: { requestId: string; principal?: Principal; limitToken: (key: string) => number; authFailed: (reason: AuthFailure) => void; clientAddress: string } };

/**
 * Reads a JSON body: content type, nesting depth on the raw text before parsing, then the zod
 * schema. Size is bounded before this by the body-limit middleware.
 */
export async function readJson<S extends z.ZodType>(c: Context<Env>, schema: S): Promise<z.infer<S>> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/(.+\+)?json\b/i.test(type)) throw new ServiceError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
  const text = await c.req.text();
  const scan = scanJson(text, MAX_BODY_DEPTH);
  const deep = scan.find((f) => f.rule === 'JSON_TOO_DEEP');
  if (deep) throw new ServiceError('PAYLOAD_TOO_LARGE', `the body nests deeper than ${MAX_BODY_DEPTH} levels`, { findings: [deep] });
  // JSON.parse keeps the last of two equal keys; another reader may keep the first. Refuse.
  const duplicates = scan.filter((f) => f.rule === 'JSON_DUPLICATE_KEY');
  if (duplicates.length) throw new ServiceError('REQUEST_INVALID', `the body repeats the key at ${duplicates[0]!.path}; every key appears once per object`, { findings: duplicates.slice(0, 20) });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ServiceError('BAD_REQUEST', 'the body is not valid JSON');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 20).map((i) => ({ path: `/${i.path.map(String).join('/')}`, message: i.message }));
    throw new ServiceError('REQUEST_INVALID', `the body is invalid at ${issues[0]?.path}: ${issues[0]?.message}`, { issues });
  }
  return parsed.data as z.infer<S>;
}

/** Authenticates the caller and checks its role; the principal comes from the token only. */
export function caller(c: Context<Env>, deps: Deps, roles: readonly Role[], action: string, options: { anonymous?: boolean } = {}): Principal {
  const principal = authenticate(deps, c.req.header('authorization'), options.anonymous ?? false, c.get('authFailed'));
  if (principal.tokenId) {
    const wait = c.get('limitToken')(principal.tokenId);
    if (wait > 0) throw new ServiceError('RATE_LIMITED', `too many requests for this token; retry in ${wait} s`, { retryAfter: wait });
  }
  requireRole(deps, principal, roles, action);
  c.set('principal', principal);
  return principal;
}

export const READ_ROLES: readonly Role[] = ['admin', 'security', 'publisher', 'reader'];
