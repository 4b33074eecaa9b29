import { appendAudit, revokeToken as revokeTokenRow, tokenById } from '@sigil/db';
import { nowIso, type Deps, type Principal } from '../deps.js';
import { ServiceError } from '../errors.js';

/** Revokes a token at once (admin only); a revoked token is refused on its next request. */
export async function revokeToken(deps: Deps, actor: Principal, id: string): Promise<{ id: string; revokedAt: string }> {
  const now = nowIso(deps);
  return deps.db.transaction(async (tx) => {
    if (!(await tokenById(tx, id))) throw new ServiceError('NOT_FOUND', `no token ${id}`);
    if (!(await revokeTokenRow(tx, id, now))) throw new ServiceError('ALREADY_DECIDED', `the token ${id} was already revoked`);
    await appendAudit(tx, { actor: actor.name, action: 'token.revoke', subject: id });
    return { id, revokedAt: now };
  });
}
