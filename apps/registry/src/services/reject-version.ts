import { appendAudit, setVersionStatus, versionOf } from '@sigil/db';
import type { VersionRecord } from '@sigil/manifest';
import { nowIso, type Deps, type Principal } from '../deps.js';
import { ServiceError } from '../errors.js';
import { appendLog, eventLogEntry, logAppended } from './append-log.js';
import { requireVersion, versionRecord } from './views.js';

/** Rejects a pending version with a reason; final (ALREADY_DECIDED for any later decision). */
export async function rejectVersion(deps: Deps, actor: Principal, name: string, version: string, reason: string): Promise<VersionRecord> {
  await requireVersion(deps, name, version);
  const now = nowIso(deps);
  const row = await deps.db.transaction(async (tx) => {
    const current = (await versionOf(tx, name, version))!;
    if (current.status !== 'pending') throw new ServiceError('ALREADY_DECIDED', `${name}@${version} is already ${current.status}`);
    // The audit event first: the database refuses a status change without it.
    const audit = await appendAudit(tx, { actor: actor.name, action: 'version.reject', subject: `${name}@${version}`, details: { reason } });
    await appendLog(tx, [eventLogEntry('rejection', `${name}@${version}`, { actor: actor.name, reason, at: now, audit: { seq: audit.seq, hash: audit.hash } })], now);
    await setVersionStatus(tx, current.id, { status: 'rejected', rejectionReason: reason, rejectedBy: actor.name, rejectedAt: now });
    return (await versionOf(tx, name, version))!;
  });
  await logAppended(deps);
  return versionRecord(deps, row);
}
