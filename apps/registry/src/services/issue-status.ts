import { readStatusSnapshot } from '@sigil/db';
import { compareVersions, parseReference, type Digest, type StatusEntry, type StatusPredicate } from '@sigil/manifest';
import { SigningError } from '@sigil/signing/sign';
import { IN_TOTO_PAYLOAD_TYPE, STATEMENT_LIMITS, STATEMENT_TYPE, STATUS_PREDICATE_TYPE, statementSubject } from '@sigil/signing/verify';
import { nowIso, type Deps } from '../deps.js';

/**
 * One signed, expiring statement of the status of the versions asked for, signed with the
 * registry's status key: status, risk, counted approval digests, revocation. Unknown or invalid
 * references are reported as `unknown`, never silently dropped. The host's nonce is repeated.
 */
export async function issueStatus(deps: Deps, refs: readonly string[], nonce: string | undefined, registryUrl: string): Promise<{ bundle: Record<string, unknown> }> {
  const parsed = refs.map((ref) => {
    try {
      return parseReference(ref);
    } catch {
      return undefined;
    }
  });
  // One read for the whole answer: the versions, their servers' approved versions and the
  // audit chain head, as one consistent view (on SQLite), small columns only.
  const snapshot = await readStatusSnapshot(
    deps.db,
    parsed.filter((p) => p !== undefined).map((p) => [p.name, p.version] as const),
  );
  // Per server asked about, its newest approved version: hosts compare it with the (unsigned)
  // server listing before `lock --update`, so a listing that hides a version is caught.
  const newest = new Map<string, string | undefined>();
  const newestApprovedOf = (name: string): string | undefined => {
    if (!newest.has(name)) newest.set(name, [...(snapshot.approved.get(name) ?? [])].sort(compareVersions).at(-1));
    return newest.get(name);
  };
  // Unknown or invalid references are reported as `unknown`, never silently dropped.
  const entries: StatusEntry[] = refs.map((ref, i) => {
    const p = parsed[i];
    if (!p) return { ref, status: 'unknown', approvals: [] };
    const row = snapshot.versions.get(p.name)?.get(p.version);
    const newestApproved = newestApprovedOf(p.name);
    if (!row) return { ref, status: 'unknown', approvals: [], ...(newestApproved ? { newestApproved } : {}) };
    return {
      ref,
      status: row.status,
      digest: row.digest as Digest,
      risk: row.risk,
      // Revoked versions keep their approvals listed: the refusal is then the revocation itself.
      approvals: (row.status === 'approved' || row.status === 'revoked' ? row.approvals : []) as Digest[],
      ...(row.revokedAt ? { revokedAt: row.revokedAt, reason: row.revocationReason ?? '' } : {}),
      ...(newestApproved ? { newestApproved } : {}),
    };
  });
  const issuedAt = nowIso(deps);
  const tip = snapshot.audit;
  const predicate: StatusPredicate = {
    registry: registryUrl,
    issuedAt,
    expiresAt: new Date(Date.parse(issuedAt) + deps.settings.statusTtlSeconds * 1000).toISOString(),
    ...(nonce ? { nonce } : {}),
    entries,
    // The audit chain head, signed: a host or auditor holding an earlier status sees a chain
    // that was cut back or rewritten (GET /v1/audit/verify?seq=&hash=).
    audit: { seq: tip.seq, hash: tip.hash as Digest },
  };
  const subject = entries
    .filter((e) => e.digest)
    .map((e) => {
      const at = e.ref.lastIndexOf('@');
      return statementSubject({ name: e.ref.slice(0, at), version: e.ref.slice(at + 1), digest: e.digest! });
    });
  // An in-toto statement needs a subject; a status about nothing known names the registry itself.
  const subjects = subject.length ? subject : [{ name: registryUrl, digest: { sha256: '0'.repeat(64) } }];
  // Built here from values read and checked above (the stored rows, the refs and nonce the
  // request schema bounded), so signed as it is: no second schema pass over our own statement.
  const payload = Buffer.from(JSON.stringify({ _type: STATEMENT_TYPE, subject: subjects, predicateType: STATUS_PREDICATE_TYPE, predicate }), 'utf8');
  if (payload.length > STATEMENT_LIMITS.payloadBytes) throw new SigningError('STATEMENT_INVALID', `the statement is larger than ${STATEMENT_LIMITS.payloadBytes} bytes`);
  const bundle = await deps.keys.statusSigner.signDsse(payload, IN_TOTO_PAYLOAD_TYPE);
  return { bundle: bundle as unknown as Record<string, unknown> };
}
