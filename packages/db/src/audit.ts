import { createHash } from 'node:crypto';
import { asc, desc, gt } from 'drizzle-orm';
import { canonicalJson } from '@sigil/manifest';
import { type Executor, query } from './database.js';
import { readAuditTip } from './reads.js';
import { direct, insertOf } from './sqlite-direct.js';
import { auditEvents } from './schema.js';

export const GENESIS_HASH = `sha256:${'0'.repeat(64)}`;

export interface AuditInput {
  actor: string;
  action: string;
  subject: string;
  details?: Record<string, unknown>;
  at?: string;
}

export interface AuditEvent {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** The hash of an event: sha256 over the RFC 8785 canonical JSON of every field but `hash`. */
export function auditHash(e: Omit<AuditEvent, 'hash'>): string {
  return `sha256:${createHash('sha256')
    .update(canonicalJson({ seq: e.seq, at: e.at, actor: e.actor, action: e.action, subject: e.subject, details: e.details, prevHash: e.prevHash }))
    .digest('hex')}`;
}

/**
 * Appends one event to the hash chain. Call it inside the transaction that makes the change it
 * records, so the change and its audit event commit or roll back together.
 */
export async function appendAudit(tx: Executor, input: AuditInput): Promise<AuditEvent> {
  const last = await auditTipRow(tx);
  const event: Omit<AuditEvent, 'hash'> = {
    seq: (last?.seq ?? 0) + 1,
    at: input.at ?? new Date().toISOString(),
    actor: input.actor,
    action: input.action,
    subject: input.subject,
    details: input.details ?? {},
    prevHash: last?.hash ?? GENESIS_HASH,
  };
  const hash = auditHash(event);
  const row = { ...event, details: JSON.stringify(event.details), hash };
  await direct(
    tx,
    (c) => {
      const insert = insertOf(auditEvents, row);
      c.prepare(insert.sql).run(...insert.params);
    },
    async (q) => {
      await q.insert(auditEvents).values(row);
    },
  );
  return { ...event, hash };
}

/** The sequence number of the newest event (0 when there is none). */
export async function auditHead(db: Executor): Promise<number> {
  return (await auditTipRow(db))?.seq ?? 0;
}

async function auditTipRow(db: Executor): Promise<{ seq: number; hash: string } | undefined> {
  return direct(
    db,
    (c) => c.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined,
    async (q) => (await q.select({ seq: auditEvents.seq, hash: auditEvents.hash }).from(auditEvents).orderBy(desc(auditEvents.seq)).limit(1))[0],
  );
}

/** The newest event's sequence number and hash: what a signed status carries (0 and the genesis hash when empty). */
export async function auditTip(db: Executor): Promise<{ seq: number; hash: string }> {
  // Every signed status reads this: a plain prepared statement on SQLite.
  return (await readAuditTip(db)) ?? { seq: 0, hash: GENESIS_HASH };
}

/** Events after `after` (a sequence number), oldest first. */
export async function listAudit(db: Executor, after: number, limit: number): Promise<AuditEvent[]> {
  const rows = await query(db, (q) => q.select().from(auditEvents).where(gt(auditEvents.seq, after)).orderBy(asc(auditEvents.seq)).limit(limit));
  return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
}

/**
 * Verifies the whole chain from the first event: consecutive sequence numbers, each event's
 * `prevHash` the previous event's hash, each hash recomputed from its fields. With `signedHead`
 * (a head seen earlier, e.g. inside a signed status), also that the chain still holds that event
 * with that hash: a deleted or rewritten tail shows as a regression.
 */
export async function verifyAuditChain(db: Executor, signedHead?: { seq: number; hash: string }): Promise<{ ok: true; events: number; head: string } | { ok: false; brokenAt: number; reason: string }> {
  const result = await verifyChain(db);
  if (!result.ok || !signedHead || signedHead.seq === 0) return result;
  if (signedHead.seq > result.events) return { ok: false, brokenAt: result.events + 1, reason: `the chain ends at event ${result.events}, but event ${signedHead.seq} was signed earlier: its tail was removed` };
  const event = (await listAudit(db, signedHead.seq - 1, 1))[0];
  if (event?.hash !== signedHead.hash) return { ok: false, brokenAt: signedHead.seq, reason: `event ${signedHead.seq} does not have the hash signed earlier: the chain was rewritten` };
  return result;
}

async function verifyChain(db: Executor): Promise<{ ok: true; events: number; head: string } | { ok: false; brokenAt: number; reason: string }> {
  let prev = GENESIS_HASH;
  let expected = 1;
  let after = 0;
  for (;;) {
    const page = await listAudit(db, after, 1000);
    if (page.length === 0) return { ok: true, events: expected - 1, head: prev };
    for (const e of page) {
      if (e.seq !== expected) return { ok: false, brokenAt: e.seq, reason: `expected event ${expected}, found ${e.seq}` };
      if (e.prevHash !== prev) return { ok: false, brokenAt: e.seq, reason: 'prevHash is not the previous event hash' };
      if (auditHash(e) !== e.hash) return { ok: false, brokenAt: e.seq, reason: 'the event does not match its hash' };
      prev = e.hash;
      expected++;
      after = e.seq;
    }
  }
}
