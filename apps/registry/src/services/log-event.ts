import type { LogEntryInput } from '@sigil/db';
import { canonicalJson } from '@sigil/manifest';

/**
 * The log entry of an unsigned decision (rejection, revocation), a registry key or the audit
 * chain's head: canonical JSON (RFC 8785)
 * of what was decided, by whom, when, and the audit event that records it.
 */
export function eventLogEntry(kind: string, subject: string, details: Record<string, unknown>): LogEntryInput {
  return { kind, subject, form: 'sigil-event', body: Buffer.from(canonicalJson({ apiVersion: '0.0.1', kind: 'sigil-event', spec: { event: kind, subject, ...details } })) };
}
