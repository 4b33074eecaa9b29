import { appendAudit, deleteAllowlist as deleteAllowlistRow, listAllowlist, upsertAllowlist } from '@sigil/db';
import { namespacePatternProblem } from '@sigil/manifest';
import { nowIso, type Deps, type Principal } from '../deps.js';
import { ServiceError } from '../errors.js';
import { normalizeSigner, type SignerSpec } from './signer-spec.js';

export interface AllowlistEntry {
  pattern: string;
  signers: Array<{ kind: 'key' | 'identity'; fingerprint: string; publicKey?: string; identity?: string }>;
  createdAt: string;
  updatedAt: string;
}

/** Sets who may sign in a namespace pattern (admin only); replaces the entry's signer list. */
export function putAllowlist(deps: Deps, actor: Principal, pattern: string, signers: SignerSpec[]): AllowlistEntry {
  const problem = namespacePatternProblem(pattern);
  if (problem) throw new ServiceError('REQUEST_INVALID', problem);
  if (signers.length === 0) throw new ServiceError('REQUEST_INVALID', 'an allowlist entry needs at least one signer');
  // The same signer twice (e.g. `sigil allowlist add` run again) is one signer: idempotent.
  const normal = [...new Map(signers.map(normalizeSigner).map((s) => [s.fingerprint, s])).values()];
  const now = nowIso(deps);
  deps.db.transaction((tx) => {
    upsertAllowlist(tx, pattern, normal, now);
    appendAudit(tx, { actor: actor.name, action: 'allowlist.put', subject: pattern, details: { signers: normal.map((s) => s.fingerprint) } });
  });
  return getAllowlist(deps, pattern)!;
}

/** Removes a namespace pattern (admin only). */
export function deleteAllowlist(deps: Deps, actor: Principal, pattern: string): void {
  deps.db.transaction((tx) => {
    if (!deleteAllowlistRow(tx, pattern)) throw new ServiceError('NOT_FOUND', `no allowlist entry ${pattern}`);
    appendAudit(tx, { actor: actor.name, action: 'allowlist.delete', subject: pattern });
  });
}

export function allowlistEntries(deps: Deps): AllowlistEntry[] {
  return listAllowlist(deps.db).map((e) => ({
    pattern: e.pattern,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    signers: e.signers.map((s) => (s.kind === 'key' ? { kind: 'key' as const, fingerprint: s.fingerprint, publicKey: s.value } : { kind: 'identity' as const, fingerprint: s.fingerprint, identity: s.value })),
  }));
}

export function getAllowlist(deps: Deps, pattern: string): AllowlistEntry | undefined {
  return allowlistEntries(deps).find((e) => e.pattern === pattern);
}
