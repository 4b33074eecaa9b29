import { approvalsOf, type AuditEvent, type LogEntryInput, listAllowlist, listAudit, listReviewers, logEntriesFor, newestLoggedAuditSeq, type Tx, versionOf } from '@sigil/db';
import type { Deps } from '../deps.js';
import { appendLog, bundleLogEntries, eventLogEntry, logAppended } from './append-log.js';

/** Audit events read (and records logged) per write transaction. */
const BATCH = 200;

/**
 * Logs the history a registry accepted before it had a log (a database from before migration
 * 0004): every manifest signature, approval, rejection and revocation without a log entry is
 * appended with the entries the live path writes (`bundleLogEntries`, `eventLogEntry`) from the
 * records' stored bytes, in the order the audit chain recorded them, one transaction per batch;
 * then a checkpoint is signed. Idempotent: a record that has its entry is skipped, so a second
 * start appends nothing. Run at start, after the migrations and before listening. It reads the
 * audit chain only after the newest head the log holds (every event up to it is logged, or was
 * found unloggable by the backfill before that checkpoint), so a start does not read the whole
 * chain again. Returns the number of records logged, the records that could not be (a
 * key-signed bundle whose key the registry no longer lists: its version stays LOG_ENTRY_MISSING
 * for hosts), and the audit sequence number it read after.
 */
export async function backfillLog(deps: Deps, at: string): Promise<{ logged: number; unlogged: string[]; after: number }> {
  // Every key a bundle may have been verified with: the allowlist's and the reviewers'.
  const keys = [...new Set([...(await listAllowlist(deps.db)).flatMap((e) => e.signers.filter((s) => s.kind === 'key').map((s) => s.value)), ...(await listReviewers(deps.db)).filter((r) => r.kind === 'key').map((r) => r.value)])];
  let logged = 0;
  const unlogged: string[] = [];
  const from = await newestLoggedAuditSeq(deps.db);
  let after = from;
  for (;;) {
    const events = await listAudit(deps.db, after, BATCH);
    if (events.length === 0) break;
    after = events[events.length - 1]!.seq;
    logged += await deps.db.transaction(async (tx) => {
      let n = 0;
      for (const event of events) {
        const entries = await missingEntries(tx, event, keys, unlogged);
        if (entries.length === 0) continue;
        await appendLog(tx, entries, at);
        n++;
      }
      return n;
    });
  }
  if (logged > 0) await logAppended(deps);
  return { logged, unlogged, after: from };
}

/** The entries the live path would have appended with this audit event, unless the log holds them. */
async function missingEntries(tx: Tx, event: AuditEvent, keys: readonly string[], unlogged: string[]): Promise<LogEntryInput[]> {
  const subject = event.subject;
  const at = subject.lastIndexOf('@');
  if (!event.action.startsWith('version.') || at <= 0) return [];
  const row = await versionOf(tx, subject.slice(0, at), subject.slice(at + 1));
  if (!row) return [];
  const audit = { seq: event.seq, hash: event.hash };
  switch (event.action) {
    case 'version.publish':
      if ((await logEntriesFor(tx, subject, 'manifest')).length > 0) return [];
      return bundleEntries('manifest', subject, row.bundle, keys, unlogged);
    case 'version.approve': {
      const approval = (await approvalsOf(tx, row.id)).find((a) => a.digest === event.details.approval);
      if (!approval) return [];
      const entries = bundleEntries('approval', subject, approval.bundle, keys, unlogged);
      const have = await logEntriesFor(tx, subject, 'approval');
      return entries.filter((e) => !have.some((h) => h.form === e.form && Buffer.from(e.body).equals(h.body)));
    }
    case 'version.reject':
      if (row.status !== 'rejected' || (await logEntriesFor(tx, subject, 'rejection')).length > 0) return [];
      return [eventLogEntry('rejection', subject, { actor: row.rejectedBy ?? event.actor, reason: row.rejectionReason ?? event.details.reason, at: row.rejectedAt ?? event.at, audit })];
    case 'version.revoke':
      if (row.status !== 'revoked' || (await logEntriesFor(tx, subject, 'revocation')).length > 0) return [];
      return [eventLogEntry('revocation', subject, { actor: row.revokedBy ?? event.actor, reason: row.revocationReason ?? event.details.reason, at: row.revokedAt ?? event.at, audit })];
    default:
      return [];
  }
}

function bundleEntries(kind: string, subject: string, bundle: string, keys: readonly string[], unlogged: string[]): LogEntryInput[] {
  try {
    return bundleLogEntries(kind, subject, JSON.parse(bundle) as Record<string, unknown>, keys);
  } catch {
    unlogged.push(`${kind} ${subject}`);
    return [];
  }
}
