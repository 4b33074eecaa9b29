import { appendAudit, setVersionStatus, versionOf } from '@sigil/db';
import type { VersionRecord } from '@sigil/manifest';
import { nowIso, type Deps, type Principal } from '../deps.js';
import { ServiceError } from '../errors.js';
import { appendLog, eventLogEntry, logAppended } from './append-log.js';
import { requireVersion, versionRecord } from './views.js';

/**
 * Revokes a pending or approved version with a reason. The version stays readable with its
 * status, and every signed status issued from now on says revoked. Final.
 */
export async function revokeVersion(deps: Deps, actor: Principal, name: string, version: string, reason: string): Promise<VersionRecord> {
  await requireVersion(deps, name, version);
  const now = nowIso(deps);
  const row = await deps.db.transaction(async (tx) => {
    const current = (await versionOf(tx, name, version))!;
    if (current.status === 'revoked' || current.status === 'rejected') throw new ServiceError('ALREADY_DECIDED', `${name}@${version} is already ${current.status}`);
    // The audit event first: the database refuses a status change without it.
    const audit = await appendAudit(tx, { actor: actor.name, action: 'version.revoke', subject: `${name}@${version}`, details: { reason } });
    await appendLog(tx, [eventLogEntry('revocation', `${name}@${version}`, { actor: actor.name, reason, at: now, audit: { seq: audit.seq, hash: audit.hash } })], now);
    await setVersionStatus(tx, current.id, { status: 'revoked', revocationReason: reason, revokedBy: actor.name, revokedAt: now });
    return (await versionOf(tx, name, version))!;
  });
  await logAppended(deps);
  return versionRecord(deps, row);
}
