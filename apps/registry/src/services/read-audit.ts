import { auditHead, listAudit, verifyAuditChain, type AuditEvent } from '@sigil/db';
import type { Deps } from '../deps.js';

/** A page of audit events after `after`, and where the next page starts. */
export function readAudit(deps: Deps, after: number, limit: number): { events: AuditEvent[]; next: number | null } {
  const events = listAudit(deps.db, after, limit);
  return { events, next: events.length === limit ? events.at(-1)!.seq : null };
}

/** Verifies the hash chain from the first event, and that it still holds a head signed earlier. */
export function checkAudit(deps: Deps, signedHead?: { seq: number; hash: string }): ReturnType<typeof verifyAuditChain> {
  return verifyAuditChain(deps.db, signedHead);
}

/**
 * Events committed since `after`, for the one-log-line-per-event stream. Only committed events
 * are visible here, so a refused change (rolled back) is never logged as if it happened.
 */
export function auditSince(deps: Deps, after: number): AuditEvent[] {
  return listAudit(deps.db, after, 1000);
}

export function currentAuditHead(deps: Deps): number {
  return auditHead(deps.db);
}
