import { listAudit, verifyAuditChain, type AuditEvent } from '@sigil/db';
import type { Deps } from '../deps.js';

/** A page of audit events after `after`, and where the next page starts. */
export function readAudit(deps: Deps, after: number, limit: number): { events: AuditEvent[]; next: number | null } {
  const events = listAudit(deps.db, after, limit);
  return { events, next: events.length === limit ? events.at(-1)!.seq : null };
}

/** Verifies the hash chain from the first event. */
export function checkAudit(deps: Deps): ReturnType<typeof verifyAuditChain> {
  return verifyAuditChain(deps.db);
}
