import { hash } from 'node:crypto';
import { tokenBySecretHash, type TokenAuthRow } from '@sigil/db';
import { matchesNamespace } from '@sigil/manifest';
import { ANONYMOUS, nowIso, type Deps, type Principal, type Role } from '../deps.js';
import { ServiceError } from '../errors.js';
import { auditForbidden } from './audit-forbidden.js';

/**
 * Tokens are opaque: only this hash of the whole secret (as UTF-8) is stored. The one-shot
 * `crypto.hash` (Node >= 20.12), not a Hash object per call: a third of the cost on every
 * authenticated request.
 */
export function hashToken(secret: string): string {
  return `sha256:${hash('sha256', secret, 'hex')}`;
}

/** Why an authentication failed: the label of `sigil_auth_failures_total`. */
export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired';

/**
 * The principal of a bearer token: refused when absent (unless anonymous reads are on and the
 * route allows them), unknown, malformed, expired or revoked. The scheme is case-insensitive
 * (RFC 9110, 11.1). Failures change nothing, so they write no audit row: `onFailure` counts them
 * (a metric and an aggregated log line), so a flood of bad tokens cannot grow the chain.
 * `lookup` reads the token by its hash (a read that also fetches what the request asks for, so
 * both take one round trip); by default the token alone.
 */
export async function authenticate(
  deps: Deps,
  authorization: string | undefined,
  allowAnonymous: boolean,
  onFailure: (reason: AuthFailure) => void = () => {},
  lookup: (secretHash: string) => Promise<TokenAuthRow | undefined> = (secretHash) => tokenBySecretHash(deps.db, secretHash),
): Promise<Principal> {
  const denied = (reason: AuthFailure, message: string): never => {
    onFailure(reason);
    throw new ServiceError('UNAUTHENTICATED', message);
  };
  if (!authorization) {
    if (allowAnonymous && deps.settings.anonymousRead) return ANONYMOUS;
    return denied('missing', 'this endpoint needs a bearer token (Authorization: Bearer <token>)');
  }
  const match = /^Bearer +([\x21-\x7e]{16,512})$/i.exec(authorization);
  if (!match) return denied('malformed', 'the Authorization header is not "Bearer <token>"');
  const row = await lookup(hashToken(match[1]!));
  if (!row) return denied('unknown', 'the token is not valid');
  const now = nowIso(deps);
  if (row.revokedAt) return denied('revoked', 'the token was revoked');
  if (row.expiresAt <= now) return denied('expired', 'the token has expired');
  return { name: row.principal, role: row.role, namespaces: JSON.parse(row.namespaces) as string[], tokenId: row.id };
}

/** Refuses (and audits, coalesced per principal: audit-forbidden.ts) a principal whose role is not one of `roles`. */
export async function requireRole(deps: Deps, principal: Principal, roles: readonly Role[], action: string): Promise<void> {
  if (roles.includes(principal.role)) return;
  await auditForbidden(deps, principal, action, { role: principal.role, needed: roles });
  throw new ServiceError('FORBIDDEN', `${action} needs the role ${roles.join(' or ')}; this token has ${principal.role}`);
}

/** Refuses (and audits, coalesced per principal) a publisher token whose namespace patterns do not cover `name`. */
export async function requireNamespace(deps: Deps, principal: Principal, name: string): Promise<void> {
  if (principal.role !== 'publisher') return;
  if (principal.namespaces.some((p) => matchesNamespace(p, name))) return;
  await auditForbidden(deps, principal, name, { reason: 'namespace', namespaces: principal.namespaces });
  throw new ServiceError('FORBIDDEN', `this token may publish only in ${principal.namespaces.join(', ') || 'no namespace'}, not ${name}`);
}
