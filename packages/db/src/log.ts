import { and, asc, desc, eq, gte, lt, sql } from 'drizzle-orm';
import { appendLeafHashes, type Hash, type HashReader, hashLeaf, type NodeId } from '@sigil/tlog';
import type { Executor } from './database.js';
import { logCheckpoints, logEntries, logNodes } from './schema.js';

/** One entry to append: what it records, about what, in which body form, and its exact body. */
export interface LogEntryInput {
  kind: string;
  subject: string;
  form: 'dsse' | 'hashedrekord' | 'sigil-event';
  body: Uint8Array;
}

export interface LogEntryRow {
  idx: number;
  kind: string;
  subject: string;
  form: string;
  body: Buffer;
  leafHash: Buffer;
  createdAt: string;
}

export interface CheckpointRow {
  size: number;
  root: Buffer;
  envelope: string;
  signedAt: string;
}

/** The number of leaves in the log. */
export function logSize(db: Executor): number {
  const last = db.select({ idx: logEntries.idx }).from(logEntries).orderBy(desc(logEntries.idx)).limit(1).get();
  return last ? last.idx + 1 : 0;
}

/**
 * The log's node hashes as a @sigil/tlog `HashReader`: one SQL query per batch (an `IN` list per
 * level), so a proof or a tile is one query. Synchronous, like better-sqlite3.
 */
export function logHashReader(db: Executor): HashReader {
  return {
    readHashes(ids: readonly NodeId[]): Hash[] {
      if (ids.length === 0) return [];
      const byLevel = new Map<number, number[]>();
      for (const id of ids) {
        const list = byLevel.get(id.level) ?? [];
        list.push(id.index);
        byLevel.set(id.level, list);
      }
      const found = new Map<string, Hash>();
      for (const [level, indexes] of byLevel) {
        const rows = db
          .select()
          .from(logNodes)
          .where(and(eq(logNodes.level, level), sql`${logNodes.idx} IN (${sql.join(indexes.map((i) => sql`${i}`), sql`, `)})`))
          .all();
        for (const r of rows) found.set(`${r.level}/${r.idx}`, new Uint8Array(r.hash));
      }
      // A missing node gives a short array: @sigil/tlog turns it into NODE_MISSING.
      const out: Hash[] = [];
      for (const id of ids) {
        const h = found.get(`${id.level}/${id.index}`);
        if (!h) break;
        out.push(h);
      }
      return out;
    },
  };
}

/**
 * Appends entries to the log: their leaves and every subtree they complete. Synchronous and
 * meant to run inside the caller's better-sqlite3 transaction, beside the record it logs, so a
 * logged entry and its record are never apart (nothing here awaits).
 * @example db.transaction((tx) => { insertVersion(tx, …); appendLogEntries(tx, [entry], now); })
 */
export function appendLogEntries(tx: Executor, entries: readonly LogEntryInput[], at: string): { idx: number; leafHash: Hash }[] {
  if (entries.length === 0) return [];
  const size = logSize(tx);
  const leafHashes = entries.map((e) => hashLeaf(e.body));
  const nodes = appendLeafHashes(size, leafHashes, logHashReader(tx));
  tx.insert(logEntries)
    .values(entries.map((e, i) => ({ idx: size + i, kind: e.kind, subject: e.subject, form: e.form, body: Buffer.from(e.body), leafHash: Buffer.from(leafHashes[i]!), createdAt: at })))
    .run();
  for (let i = 0; i < nodes.length; i += 200) {
    tx.insert(logNodes)
      .values(nodes.slice(i, i + 200).map((n) => ({ level: n.level, idx: n.index, hash: Buffer.from(n.hash) })))
      .run();
  }
  return leafHashes.map((leafHash, i) => ({ idx: size + i, leafHash }));
}

/** Entries `[from, to)` in index order (at most 256: one entry bundle). */
export function logEntriesRange(db: Executor, from: number, to: number): LogEntryRow[] {
  return db
    .select()
    .from(logEntries)
    .where(and(gte(logEntries.idx, from), lt(logEntries.idx, Math.min(to, from + 256))))
    .orderBy(asc(logEntries.idx))
    .all();
}

/** The entry at `idx`. */
export function logEntryAt(db: Executor, idx: number): LogEntryRow | undefined {
  return db.select().from(logEntries).where(eq(logEntries.idx, idx)).get();
}

/** The first entry whose leaf hash is `leafHash`. */
export function logEntryByLeafHash(db: Executor, leafHash: Uint8Array): LogEntryRow | undefined {
  return db.select().from(logEntries).where(eq(logEntries.leafHash, Buffer.from(leafHash))).orderBy(asc(logEntries.idx)).limit(1).get();
}

/** The entries about `subject` of `kind`, oldest first. */
export function logEntriesFor(db: Executor, subject: string, kind: string): LogEntryRow[] {
  return db.select().from(logEntries).where(and(eq(logEntries.subject, subject), eq(logEntries.kind, kind))).orderBy(asc(logEntries.idx)).all();
}

/** Records a signed checkpoint (its exact envelope). A size is signed once. */
export function insertCheckpoint(tx: Executor, row: { size: number; root: Uint8Array; envelope: string; signedAt: string }): void {
  tx.insert(logCheckpoints)
    .values({ size: row.size, root: Buffer.from(row.root), envelope: row.envelope, signedAt: row.signedAt })
    .onConflictDoNothing()
    .run();
}

/** The newest signed checkpoint. */
export function latestCheckpoint(db: Executor): CheckpointRow | undefined {
  return db.select().from(logCheckpoints).orderBy(desc(logCheckpoints.size)).limit(1).get();
}

/** The signed checkpoint of exactly `size` leaves. */
export function checkpointAt(db: Executor, size: number): CheckpointRow | undefined {
  return db.select().from(logCheckpoints).where(eq(logCheckpoints.size, size)).get();
}

/**
 * The first signed checkpoint holding at least `size` leaves: the one an entry's inclusion proof
 * is given against in the bundles the registry serves, so that proof never changes once signed.
 */
export function checkpointCovering(db: Executor, size: number): CheckpointRow | undefined {
  return db.select().from(logCheckpoints).where(gte(logCheckpoints.size, size)).orderBy(asc(logCheckpoints.size)).limit(1).get();
}
