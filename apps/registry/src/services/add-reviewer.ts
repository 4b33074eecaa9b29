import { appendAudit, deleteReviewer, ensurePrincipal, insertReviewer, listCertificateAuthorities, listReviewers } from '@sigil/db';
import { nowIso, type Deps, type Principal } from '../deps.js';
import { ServiceError } from '../errors.js';
import { normalizeSigner, sameSigner, trustedCas, type SignerSpec } from './signer-spec.js';

/** A reviewer binding as the API shows it. */
export interface ReviewerBinding {
  principal: string;
  kind: 'key' | 'identity';
  fingerprint: string;
  /** The CA the identity's certificates must chain to (identities only; absent: unbound). */
  ca?: string;
}

const PRINCIPAL = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/**
 * Binds a reviewer principal to a public key or certificate identity (admin only). An identity
 * is bound to its CA as on the allowlist (signer-spec.ts): the same identity under another CA is
 * another signer, which may be bound to another reviewer.
 */
export async function addReviewer(deps: Deps, actor: Principal, principal: string, spec: SignerSpec): Promise<ReviewerBinding> {
  if (!PRINCIPAL.test(principal)) throw new ServiceError('REQUEST_INVALID', 'a principal is 1-128 characters of letters, digits and . _ @ -');
  const now = nowIso(deps);
  return deps.db.transaction(async (tx) => {
    const cas = trustedCas(await listCertificateAuthorities(tx));
    const signer = normalizeSigner(spec, cas);
    const bound = (await listReviewers(tx)).filter((r) => sameSigner(r, signer, cas));
    if (bound.some((r) => r.principal !== principal)) {
      throw new ServiceError('CONFLICT', 'this key or identity (under this CA) is already bound to another reviewer');
    }
    const binding = { principal, kind: signer.kind, fingerprint: signer.fingerprint, ...(signer.ca ? { ca: signer.ca } : {}) };
    // Bound already (`sigil reviewer add` run twice): nothing changes, so nothing is written or audited.
    if (bound.length > 0) return binding;
    await ensurePrincipal(tx, principal, now);
    await insertReviewer(tx, { principal, kind: signer.kind, value: signer.value, fingerprint: signer.fingerprint, ca: signer.ca, createdAt: now });
    await appendAudit(tx, { actor: actor.name, action: 'reviewer.add', subject: principal, details: { kind: signer.kind, fingerprint: signer.fingerprint, ...(signer.ca ? { ca: signer.ca } : {}) } });
    return binding;
  });
}

/** Every reviewer binding (admin, security). */
export async function reviewerBindings(deps: Deps): Promise<ReviewerBinding[]> {
  return (await listReviewers(deps.db)).map((r) => ({ principal: r.principal, kind: r.kind, fingerprint: r.fingerprint, ...(r.ca ? { ca: r.ca } : {}) }));
}

/**
 * Removes a reviewer's binding (admin only): the one with `fingerprint`, or every binding of the
 * principal. Their approvals already recorded stay (they were valid when made); new ones signed
 * with the removed key or identity are refused (SIGNER_NOT_ALLOWED).
 */
export async function removeReviewer(deps: Deps, actor: Principal, principal: string, fingerprint?: string): Promise<{ principal: string; removed: ReviewerBinding[] }> {
  return deps.db.transaction(async (tx) => {
    const removed = await deleteReviewer(tx, principal, fingerprint);
    if (removed.length === 0) throw new ServiceError('NOT_FOUND', fingerprint === undefined ? `${principal} is not a registered reviewer` : `${principal} has no binding ${fingerprint}`);
    await appendAudit(tx, { actor: actor.name, action: 'reviewer.remove', subject: principal, details: { fingerprints: removed.map((r) => r.fingerprint) } });
    return { principal, removed: removed.map((r) => ({ principal: r.principal, kind: r.kind, fingerprint: r.fingerprint, ...(r.ca ? { ca: r.ca } : {}) })) };
  });
}
