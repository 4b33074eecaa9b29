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
export function revokeVersion(deps: Deps, actor: Principal, name: string, version: string, reason: string): VersionRecord {
  requireVersion(deps, name, version);
  const now = nowIso(deps);
  const row = deps.db.transaction((tx) => {
    const current = versionOf(tx, name, version)!;
    if (current.status === 'revoked' || current.status === 'rejected') throw new ServiceError('ALREADY_DECIDED', `${name}@${version} is already ${current.status}`);
    // The audit event first: the database refuses a status change without it.
    const audit = appendAudit(tx, { actor: actor.name, action: 'version.revoke', subject: `${name}@${version}`, details: { reason } });
    appendLog(tx, [eventLogEntry('revocation', `${name}@${version}`, { actor: actor.name, reason, at: now, audit: { seq: audit.seq, hash: audit.hash } })], now);
    setVersionStatus(tx, current.id, { status: 'revoked', revocationReason: reason, revokedBy: actor.name, revokedAt: now });
    return versionOf(tx, name, version)!;
  });
  logAppended(deps);
  return versionRecord(deps, row);
}
