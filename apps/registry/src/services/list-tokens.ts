import { listTokens as listTokenRows } from '@sigil/db';
import type { TokenList } from '@sigil/manifest';
import { nowIso, type Deps } from '../deps.js';

/** Most tokens one listing returns (newest first). */
export const TOKEN_LIST_LIMIT = 500;

/** The tokens the registry issued, newest first: who, which role, until when; never a secret or its hash. */
export async function listTokens(deps: Deps): Promise<TokenList> {
  const now = nowIso(deps);
  return {
    tokens: (await listTokenRows(deps.db, TOKEN_LIST_LIMIT)).map((t) => ({
      id: t.id,
      principal: t.principal,
      role: t.role,
      namespaces: JSON.parse(t.namespaces) as string[],
      createdAt: t.createdAt,
      createdBy: t.createdBy,
      expiresAt: t.expiresAt,
      revokedAt: t.revokedAt,
      active: t.revokedAt === null && t.expiresAt > now,
    })),
  };
}
