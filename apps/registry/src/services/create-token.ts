import { randomBytes } from 'node:crypto';
import { appendAudit, countTokens, ensurePrincipal, insertToken } from '@sigil/db';
import { namespacePatternProblem } from '@sigil/manifest';
import { nowIso, type Deps, type Principal, type Role } from '../deps.js';
import { ServiceError } from '../errors.js';
import { hashToken } from './authenticate.js';

export interface CreateTokenInput {
  principal: string;
  role: Role;
  namespaces?: string[];
  ttlSeconds?: number;
}

/** Default token lifetime: one hour. */
export const DEFAULT_TOKEN_TTL = 3600;

/** Makes a random opaque token; the secret is returned once and only its hash is kept. */
export function newTokenSecret(): { id: string; secret: string } {
  const id = randomBytes(8).toString('hex');
  return { id, secret: `sigil_${id}_${randomBytes(32).toString('base64url')}` };
}

/** A token's text: `sigil_`, its id, `_`, its secret (newTokenSecret). */
const TOKEN_TEXT = /sigil_([0-9a-f]{16})_[A-Za-z0-9_-]+/g;

/** `text` with every token in it cut to its id (`sigil_<id>_…`): what may be logged of a text a caller wrote a token into. */
export function withoutTokenSecrets(text: string): string {
  return text.includes('sigil_') ? text.replace(TOKEN_TEXT, 'sigil_$1_…') : text;
}

/**
 * Creates a token for a principal (admin only). Publisher tokens must name the namespace
 * patterns they may publish in; the lifetime is bounded by the registry setting.
 */
export async function createToken(deps: Deps, actor: Principal, input: CreateTokenInput): Promise<{ id: string; token: string; principal: string; role: Role; namespaces: string[]; expiresAt: string }> {
  const namespaces = input.namespaces ?? [];
  for (const p of namespaces) {
    const problem = namespacePatternProblem(p);
    if (problem) throw new ServiceError('REQUEST_INVALID', problem);
  }
  if (input.role === 'publisher' && namespaces.length === 0) throw new ServiceError('REQUEST_INVALID', 'a publisher token needs at least one namespace pattern');
  const ttl = input.ttlSeconds ?? DEFAULT_TOKEN_TTL;
  if (ttl > deps.settings.tokenMaxTtlSeconds) throw new ServiceError('REQUEST_INVALID', `the lifetime ${ttl} s is longer than the registry allows (${deps.settings.tokenMaxTtlSeconds} s)`);
  const now = nowIso(deps);
  const expiresAt = new Date(Date.parse(now) + ttl * 1000).toISOString();
  const { id, secret } = newTokenSecret();
  await deps.db.transaction(async (tx) => {
    await ensurePrincipal(tx, input.principal, now);
    await insertToken(tx, { id, principal: input.principal, secretHash: hashToken(secret), role: input.role, namespaces: JSON.stringify(namespaces), createdAt: now, createdBy: actor.name, expiresAt });
    await appendAudit(tx, { actor: actor.name, action: 'token.create', subject: id, details: { principal: input.principal, role: input.role, namespaces, expiresAt } });
  });
  return { id, token: secret, principal: input.principal, role: input.role, namespaces, expiresAt };
}

/** True when the database holds no token yet: the first start creates the admin. */
export async function needsBootstrap(deps: Deps): Promise<boolean> {
  return (await countTokens(deps.db)) === 0;
}

/** Shortest bootstrap token accepted: as strong as the 32 random bytes of a generated one. */
export const MIN_BOOTSTRAP_TOKEN = 32;

/**
 * The first admin, on a database without tokens, with `token` as its secret (the caller has
 * already stored it: an environment variable, or the bootstrap file written first). Returns
 * undefined when tokens already exist.
 */
export async function bootstrapAdmin(deps: Deps, token: string): Promise<{ token: string } | undefined> {
  if (token.length < MIN_BOOTSTRAP_TOKEN) throw new ServiceError('REQUEST_INVALID', `a bootstrap token is at least ${MIN_BOOTSTRAP_TOKEN} characters`);
  const now = nowIso(deps);
  return deps.db.transaction(async (tx) => {
    if (await countTokens(tx) > 0) return undefined;
    const { id } = newTokenSecret();
    const expiresAt = new Date(Date.parse(now) + deps.settings.tokenMaxTtlSeconds * 1000).toISOString();
    await ensurePrincipal(tx, 'admin', now);
    await insertToken(tx, { id, principal: 'admin', secretHash: hashToken(token), role: 'admin', namespaces: '[]', createdAt: now, createdBy: 'bootstrap', expiresAt });
    await appendAudit(tx, { actor: 'bootstrap', action: 'token.create', subject: id, details: { principal: 'admin', role: 'admin', bootstrap: true, expiresAt } });
    return { token };
  });
}
