import { appendAudit, deleteAllowlist as deleteAllowlistRow, listAllowlist, upsertAllowlist } from '@sigil/db';
import { namespacePatternProblem } from '@sigil/manifest';
import { nowIso, type Deps, type Principal } from '../deps.js';
import { ServiceError } from '../errors.js';
import { normalizeSigner, type SignerSpec } from './signer-spec.js';

export interface AllowlistEntry {
  pattern: string;
  signers: Array<{ kind: 'key' | 'identity'; fingerprint: string; publicKey?: string; identity?: string }>;
  /** Who may sign provenance for which SLSA builder id (none: provenance is refused). */
  builders: Array<{ builderId: string; kind: 'key' | 'identity'; fingerprint: string; publicKey?: string; identity?: string }>;
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
  // The same signer twice (e.g. `sigil allowlist add` run again) is one signer: idempotent.
  const normal = [...new Map(signers.map(normalizeSigner).map((s) => [s.fingerprint, s])).values()];
  // Builders left out are kept (so adding a signer never drops them); given, they replace.
  const given = builders?.map((b) => ({ builderId: b.builderId, ...normalizeSigner(b) }));
  const bound = given ? [...new Map(given.map((b) => [`${b.builderId} ${b.fingerprint}`, b])).values()] : undefined;
  const effective = bound ?? (await getAllowlist(deps, pattern))?.builders ?? [];
  const self = effective.find((b) => normal.some((s) => s.fingerprint === b.fingerprint));
  if (self) throw new ServiceError('REQUEST_INVALID', `the builder signer ${self.fingerprint} is also a signer of ${pattern}; provenance it signs would be the publisher vouching for itself`);
  const now = nowIso(deps);
  await deps.db.transaction(async (tx) => {
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
    signers: e.signers.map((s) => (s.kind === 'key' ? { kind: 'key' as const, fingerprint: s.fingerprint, publicKey: s.value } : { kind: 'identity' as const, fingerprint: s.fingerprint, identity: s.value })),
    builders: e.builders.map((b) => ({ builderId: b.builderId, ...(b.kind === 'key' ? { kind: 'key' as const, fingerprint: b.fingerprint, publicKey: b.value } : { kind: 'identity' as const, fingerprint: b.fingerprint, identity: b.value }) })),
  }));
}

export async function getAllowlist(deps: Deps, pattern: string): Promise<AllowlistEntry | undefined> {
  return (await allowlistEntries(deps)).find((e) => e.pattern === pattern);
}
