import { auditHead, listAudit, verifyAuditChain, type AuditEvent } from '@sigil/db';
import type { Deps } from '../deps.js';

/** A page of audit events after `after`, and where the next page starts. */
export async function readAudit(deps: Deps, after: number, limit: number): Promise<{ events: AuditEvent[]; next: number | null }> {
  const events = await listAudit(deps.db, after, limit);
  return { events, next: events.length === limit ? events.at(-1)!.seq : null };
}

/** Verifies the hash chain from the first event, and that it still holds a head signed earlier. */
export async function checkAudit(deps: Deps, signedHead?: { seq: number; hash: string }): Promise<ReturnType<typeof verifyAuditChain>> {
  return verifyAuditChain(deps.db, signedHead);
}

/**
 * Events committed since `after`, for the one-log-line-per-event stream. Only committed events
 * are visible here, so a refused change (rolled back) is never logged as if it happened.
 */
export async function auditSince(deps: Deps, after: number): Promise<AuditEvent[]> {
  return listAudit(deps.db, after, 1000);
}

export async function currentAuditHead(deps: Deps): Promise<number> {
  return auditHead(deps.db);
}
