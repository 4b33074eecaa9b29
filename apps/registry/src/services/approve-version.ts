import { appendAudit, approvalByReviewerOrKey, approvalsOf, insertApproval, listAllowlist, listCertificateAuthorities, listReviewers, setVersionStatus, versionOf, type Executor, type VersionRow } from '@sigil/db';
import { canonicalJson, manifestDigest, mostSpecificPattern, sha256, type Manifest, type VersionRecord } from '@sigil/manifest';
import { SignerPolicy, verifyApprovalBundle, type VerifiedSigner } from '@sigil/signing/verify';
import { nowIso, type Deps, type Principal } from '../deps.js';
import { ServiceError } from '../errors.js';
import { appendLog, bundleLogEntries, logAppended } from './append-log.js';
import { signingRefusal } from './publish-version.js';
import { trustedRootOf } from './register-ca.js';
import { identityMatches, manifestSignerChain, policyIdentities, trustedCas } from './signer-spec.js';
import { requireVersion, versionRecord } from './views.js';

/**
 * Records a reviewer's signed approval. The caller must be a registered reviewer and the bundle
 * signed with the key or identity bound to that reviewer (SIGNER_NOT_ALLOWED otherwise).
 * Separation of duties: neither the publishing principal nor the manifest's signer may approve
 * (SELF_APPROVAL). A version needs one approval, or the high-risk setting's count of distinct
 * reviewers when it is high-risk; it stays pending until then. Decided versions refuse
 * (ALREADY_DECIDED). The manifest's signer must still be allowed in the namespace: a key the
 * admin removed from the allowlist since the publish signs nothing that becomes approved
 * (SIGNER_NOT_ALLOWED, or NAMESPACE_NOT_ALLOWED when no entry covers it). Verification runs
 * before the write transaction.
 */
export async function approveVersion(deps: Deps, actor: Principal, name: string, version: string, bundle: Record<string, unknown>): Promise<VersionRecord> {
  const row = await requireVersion(deps, name, version);
  if (row.status !== 'pending') throw new ServiceError('ALREADY_DECIDED', `${name}@${version} is already ${row.status}`);
  if (actor.name === row.publisher) throw new ServiceError('SELF_APPROVAL', `${actor.name} published ${name}@${version} and cannot approve it`);
  const bound = (await listReviewers(deps.db)).filter((r) => r.principal === actor.name);
  if (bound.length === 0) throw new ServiceError('SIGNER_NOT_ALLOWED', `${actor.name} is not a registered reviewer`);
  const caRows = await listCertificateAuthorities(deps.db);
  const root = trustedRootOf(deps, caRows);
  // A reviewer's identity counts only under the CA it is bound to: another trusted CA's leaf with
  // the same identity is not this reviewer (SIGNER_NOT_ALLOWED).
  const policy = SignerPolicy.parse({
    publicKeys: bound.filter((r) => r.kind === 'key').map((r) => r.value),
    identities: policyIdentities(bound, trustedCas(caRows)),
    trustedRoot: root,
  });
  const manifest = JSON.parse(row.manifest) as Manifest;
  const digest = manifestDigest(manifest);
  let signer: VerifiedSigner;
  let decision: string;
  let reviewer: string;
  try {
    const verified = verifyApprovalBundle(bundle, { name, version, digest }, policy);
    signer = verified.signer;
    decision = verified.predicate.decision;
    reviewer = verified.predicate.reviewer;
  } catch (e) {
    throw signingRefusal(e, 'the approval signature');
  }
  if (reviewer !== actor.name) throw new ServiceError('APPROVAL_INVALID', `the signed statement names the reviewer ${JSON.stringify(reviewer)}, but the token is ${actor.name}'s`);
  if (decision !== 'approved') throw new ServiceError('APPROVAL_INVALID', `the signed statement records the decision ${decision}; post it as an approval only when it approves`);
  if (signer.keyFingerprint === row.signerFingerprint || (signer.kind === 'certificate' && signer.identity === row.signerIdentity)) {
    throw new ServiceError('SELF_APPROVAL', 'the approval is signed by the same key or identity that signed the manifest');
  }
  const manifestChain = manifestSignerChain(row, manifest, root);
  const approvalDigest = sha256(canonicalJson(bundle));
  const logged = bundleLogEntries('approval', `${name}@${version}`, bundle, policy.publicKeys);
  const now = nowIso(deps);
  const updated = await deps.db.transaction(async (tx) => {
    const current = (await versionOf(tx, name, version))!;
    if (current.status !== 'pending') throw new ServiceError('ALREADY_DECIDED', `${name}@${version} is already ${current.status}`);
    if (await approvalByReviewerOrKey(tx, current.id, actor.name, signer.keyFingerprint)) throw new ServiceError('ALREADY_DECIDED', `${actor.name} already approved ${name}@${version}`);
    await requireReviewerBound(tx, actor.name, signer);
    await requireSignerAllowed(tx, current, manifestChain);
    const count = (await approvalsOf(tx, current.id)).length + 1;
    const needed = current.risk === 'high' ? deps.settings.highRiskApprovals : 1;
    // The audit event first: the database refuses an approval or a status change without it.
    await appendAudit(tx, { actor: actor.name, action: 'version.approve', subject: `${name}@${version}`, details: { approval: approvalDigest, count, needed } });
    await insertApproval(tx, { versionId: current.id, reviewer: actor.name, digest: approvalDigest, bundle: JSON.stringify(bundle), signerFingerprint: signer.keyFingerprint, createdAt: now });
    await appendLog(tx, logged, now);
    if (count >= needed) {
      await appendAudit(tx, { actor: actor.name, action: 'version.approved', subject: `${name}@${version}`, details: { approvals: count } });
      await setVersionStatus(tx, current.id, { status: 'approved' });
    }
    return (await versionOf(tx, name, version))!;
  });
  await logAppended(deps);
  return versionRecord(deps, updated);
}

/**
 * The reviewer's binding the approval verified under must still be there, read in the write
 * transaction: a binding removed meanwhile (`DELETE /v1/reviewers/…`, or an identity re-bound to
 * another CA) stops this approval too, as an allowlist change stops the manifest signer's.
 */
async function requireReviewerBound(tx: Executor, principal: string, signer: VerifiedSigner): Promise<void> {
  const cas = trustedCas(await listCertificateAuthorities(tx));
  const still = (await listReviewers(tx)).some(
    (r) => r.principal === principal && (r.kind === 'key' ? signer.keyFingerprint === r.fingerprint : signer.kind === 'certificate' && identityMatches(r, signer.identity, signer.caChain, cas)),
  );
  if (!still) throw new ServiceError('SIGNER_NOT_ALLOWED', `${principal} is no longer bound to the key or identity that signed this approval; it does not count`);
}

/**
 * Refuses to approve a version whose manifest signer is no longer in the allowlist entry that
 * covers its namespace (read in the write transaction, so an allowlist change cannot slip in
 * between): removing a compromised key must also stop what it already published and is
 * still waiting for review. An identity counts only under the CA it is bound to now.
 */
async function requireSignerAllowed(tx: Executor, row: VersionRow, chain: readonly string[]): Promise<void> {
  const entries = await listAllowlist(tx);
  const pattern = mostSpecificPattern(
    entries.map((e) => e.pattern),
    row.server,
  );
  if (pattern === undefined) throw new ServiceError('NAMESPACE_NOT_ALLOWED', `no allowlist entry covers the namespace of ${row.server} any more; ${row.server}@${row.version} cannot be approved`);
  const cas = trustedCas(await listCertificateAuthorities(tx));
  const identity = row.signerKind === 'certificate' ? (row.signerIdentity ?? undefined) : undefined;
  const allowed = entries
    .find((e) => e.pattern === pattern)!
    .signers.some((s) => (s.kind === 'key' ? row.signerKind === 'key' && s.fingerprint === row.signerFingerprint : identityMatches(s, identity, chain, cas)));
  if (!allowed) {
    const who = row.signerKind === 'certificate' ? `${row.signerIdentity} (certificate from CA ${chain[0] ?? 'unknown'})` : row.signerFingerprint;
    throw new ServiceError('SIGNER_NOT_ALLOWED', `${row.server}@${row.version} was signed by ${who}, which is no longer allowed in ${pattern}; it cannot be approved (reject it, or publish a new version signed by an allowed signer)`);
  }
}
