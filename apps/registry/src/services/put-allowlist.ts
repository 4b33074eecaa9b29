import { appendAudit, deleteAllowlist as deleteAllowlistRow, listAllowlist, listCertificateAuthorities, upsertAllowlist } from '@sigil/db';
import { namespacePatternProblem } from '@sigil/manifest';
import { nowIso, type Deps, type Principal } from '../deps.js';
import { ServiceError } from '../errors.js';
import { normalizeSigner, sameSigner, signerLabel, trustedCas, type SignerSpec, type StoredSigner } from './signer-spec.js';

/** A signer as the API shows it: its key, or its identity and the CA that identity is bound to. */
export interface SignerView {
  kind: 'key' | 'identity';
  fingerprint: string;
  publicKey?: string;
  identity?: string;
  ca?: string;
}

export interface AllowlistEntry {
  pattern: string;
  signers: SignerView[];
  /** Who may sign provenance for which SLSA builder id (none: provenance is refused). */
  builders: Array<SignerView & { builderId: string }>;
  createdAt: string;
  updatedAt: string;
}

/**
 * Sets who may sign in a namespace pattern (admin only), and which builders' provenance counts
 * there; replaces the entry's lists. A builder signer is never one of the entry's signers: a
 * provenance signed by the publisher's own key would be a self-attestation.
 */
export async function putAllowlist(deps: Deps, actor: Principal, pattern: string, signers: SignerSpec[], builders?: Array<SignerSpec & { builderId: string }>): Promise<AllowlistEntry> {
  const problem = namespacePatternProblem(pattern);
  if (problem) throw new ServiceError('REQUEST_INVALID', problem);
  if (signers.length === 0) throw new ServiceError('REQUEST_INVALID', 'an allowlist entry needs at least one signer');
  const now = nowIso(deps);
  await deps.db.transaction(async (tx) => {
    // The CAs are read in the write transaction: an identity is bound against the CAs trusted
    // when it is stored, so a CA registered meanwhile cannot leave it unbound beside two CAs.
    const cas = trustedCas(await listCertificateAuthorities(tx));
    // The same signer twice (e.g. `sigil allowlist add` run again) is one signer: idempotent.
    const normal = [...new Map(signers.map((s) => normalizeSigner(s, cas)).map((s) => [s.fingerprint, s])).values()];
    // Builders left out are kept (so adding a signer never drops them); given, they replace.
    const given = builders?.map((b) => ({ builderId: b.builderId, ...normalizeSigner(b, cas) }));
    const bound = given ? [...new Map(given.map((b) => [`${b.builderId} ${b.fingerprint}`, b])).values()] : undefined;
    const effective: StoredSigner[] = bound ?? (await listAllowlist(tx)).find((e) => e.pattern === pattern)?.builders ?? [];
    const self = effective.find((b) => normal.some((s) => sameSigner(s, b, cas)));
    if (self) throw new ServiceError('REQUEST_INVALID', `the builder signer ${signerLabel(self)} is also a signer of ${pattern}; provenance it signs would be the publisher vouching for itself`);
    await upsertAllowlist(tx, pattern, normal, now, bound);
    await appendAudit(tx, { actor: actor.name, action: 'allowlist.put', subject: pattern, details: { signers: normal.map((s) => s.fingerprint), ...(bound ? { builders: bound.map((b) => ({ builderId: b.builderId, signer: b.fingerprint })) } : {}) } });
  });
  return (await getAllowlist(deps, pattern))!;
}

/** Removes a namespace pattern (admin only). */
export async function deleteAllowlist(deps: Deps, actor: Principal, pattern: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    if (!(await deleteAllowlistRow(tx, pattern))) throw new ServiceError('NOT_FOUND', `no allowlist entry ${pattern}`);
    await appendAudit(tx, { actor: actor.name, action: 'allowlist.delete', subject: pattern });
  });
}

export async function allowlistEntries(deps: Deps): Promise<AllowlistEntry[]> {
  return (await listAllowlist(deps.db)).map((e) => ({
    pattern: e.pattern,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    signers: e.signers.map(signerView),
    builders: e.builders.map((b) => ({ builderId: b.builderId, ...signerView(b) })),
  }));
}

export async function getAllowlist(deps: Deps, pattern: string): Promise<AllowlistEntry | undefined> {
  return (await allowlistEntries(deps)).find((e) => e.pattern === pattern);
}

/** A stored signer as the API shows it. */
export function signerView(s: { kind: 'key' | 'identity'; fingerprint: string; value: string; ca: string | null }): SignerView {
  if (s.kind === 'key') return { kind: 'key', fingerprint: s.fingerprint, publicKey: s.value };
  return { kind: 'identity', fingerprint: s.fingerprint, identity: s.value, ...(s.ca ? { ca: s.ca } : {}) };
}
