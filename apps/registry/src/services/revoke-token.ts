import { appendAudit, revokeToken as revokeTokenRow, tokenById } from '@sigil/db';
import { nowIso, type Deps, type Principal } from '../deps.js';
import { ServiceError } from '../errors.js';

/** Revokes a token at once (admin only); a revoked token is refused on its next request. */
export function revokeToken(deps: Deps, actor: Principal, id: string): { id: string; revokedAt: string } {
  const now = nowIso(deps);
  return deps.db.transaction((tx) => {
    if (!tokenById(tx, id)) throw new ServiceError('NOT_FOUND', `no token ${id}`);
    if (!revokeTokenRow(tx, id, now)) throw new ServiceError('ALREADY_DECIDED', `the token ${id} was already revoked`);
    appendAudit(tx, { actor: actor.name, action: 'token.revoke', subject: id });
    return { id, revokedAt: now };
  });
}
