import { appendAudit, ensurePrincipal, insertReviewer, listReviewers } from '@sigil/db';
import { nowIso, type Deps, type Principal } from '../deps.js';
import { ServiceError } from '../errors.js';
import { normalizeSigner, type SignerSpec } from './signer-spec.js';

/** Binds a reviewer principal to a public key or certificate identity (admin only). */
export async function addReviewer(deps: Deps, actor: Principal, principal: string, spec: SignerSpec): Promise<{ principal: string; kind: 'key' | 'identity'; fingerprint: string }> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/.test(principal)) throw new ServiceError('REQUEST_INVALID', 'a principal is 1-128 characters of letters, digits and . _ @ -');
  const signer = normalizeSigner(spec);
  const now = nowIso(deps);
  await deps.db.transaction(async (tx) => {
    if ((await listReviewers(tx)).some((r) => r.fingerprint === signer.fingerprint && r.principal !== principal)) {
      throw new ServiceError('CONFLICT', 'this key or identity is already bound to another reviewer');
    }
    await ensurePrincipal(tx, principal, now);
    await insertReviewer(tx, { principal, kind: signer.kind, value: signer.value, fingerprint: signer.fingerprint, createdAt: now });
    await appendAudit(tx, { actor: actor.name, action: 'reviewer.add', subject: principal, details: { kind: signer.kind, fingerprint: signer.fingerprint } });
  });
  return { principal, kind: signer.kind, fingerprint: signer.fingerprint };
}
