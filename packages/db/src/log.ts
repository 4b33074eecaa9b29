import { and, asc, desc, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import { appendLeafHashes, type Hash, type HashReader, hashLeaf, type NodeId, treeRootNodes } from '@sigil/tlog';
import { type Executor, query } from './database.js';
import { storedBytes } from './errors.js';
import { columnsOf, direct } from './sqlite-direct.js';
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

/**
 * A row read by plain SQL, its bytes checked as drizzle's reads check them (schema.ts `bytes`): a
 * text value where a blob was written fails closed (STORED_VALUE_INVALID), never a wrong hash.
 */
function checkedEntry(row: LogEntryRow): LogEntryRow {
  // better-sqlite3 reads a blob as a Buffer, which storedBytes hands back as it is: no copy.
  row.body = storedBytes(row.body, 'log_entries.body');
  row.leafHash = storedBytes(row.leafHash, 'log_entries.leaf_hash', 32);
  return row;
}

/** The number of leaves in the log. */
export async function logSize(db: Executor): Promise<number> {
  const last = await direct(
    db,
    (c) => c.prepare('SELECT idx FROM log_entries ORDER BY idx DESC LIMIT 1').get() as { idx: number } | undefined,
    async (q) => (await q.select({ idx: logEntries.idx }).from(logEntries).orderBy(desc(logEntries.idx)).limit(1))[0],
  );
  return last ? last.idx + 1 : 0;
}

/**
 * The stored hashes of the nodes `ids` as a @sigil/tlog `HashReader`: one SQL query per 200
 * nodes (a row-value `IN` list), read before the synchronous tree code runs. Name the nodes with @sigil/tlog's
 * `*Nodes` functions (`treeRootNodes`, `inclusionProofNodes`, `consistencyProofNodes`); a node
 * not read here reads as missing (NODE_MISSING).
 * @example inclusionProof(i, size, await logHashes(db, inclusionProofNodes(i, size)))
 */
export async function logHashes(db: Executor, ids: readonly NodeId[]): Promise<HashReader> {
  const found = new Map<string, Hash>();
  if (db.dialect === 'sqlite') {
    // A point read per node on SQLite (an append reads one per set bit of the size), its text the same whatever the nodes.
    await direct(
      db,
      (c) => {
        const node = c.prepare('SELECT hash FROM log_nodes WHERE level = ? AND idx = ?');
        for (const id of ids) {
          const row = node.get(id.level, id.index) as { hash: unknown } | undefined;
          if (row) found.set(`${id.level}/${id.index}`, new Uint8Array(storedBytes(row.hash, 'log_nodes.hash', 32)));
        }
      },
      () => Promise.resolve(),
    );
  }
  // One statement for every node, whatever its level (a row-value IN list: SQLite 3.15+ and
  // PostgreSQL): an append reads the tree's frontier, one node per set bit of its size. The casts:
  // PostgreSQL types a bare parameter in VALUES as text, and bigint = text does not exist.
  for (let i = 0; db.dialect !== 'sqlite' && i < ids.length; i += 200) {
    const batch = ids.slice(i, i + 200);
    const rows = await query(db, (q) =>
      q
        .select()
        .from(logNodes)
        .where(sql`(${logNodes.level}, ${logNodes.idx}) IN (VALUES ${sql.join(batch.map((id) => sql`(CAST(${id.level} AS BIGINT), CAST(${id.index} AS BIGINT))`), sql`, `)})`),
    );
    for (const r of rows) found.set(`${r.level}/${r.idx}`, new Uint8Array(r.hash));
  }
  return {
    readHashes(wanted: readonly NodeId[]): Hash[] {
      // A missing node gives a short array: @sigil/tlog turns it into NODE_MISSING.
      const out: Hash[] = [];
      for (const id of wanted) {
        const h = found.get(`${id.level}/${id.index}`);
        if (!h) break;
        out.push(h);
      }
      return out;
    },
  };
}

/**
 * Appends entries to the log: their leaves and every subtree they complete. Run it inside the
 * caller's transaction, beside the record it logs, so a logged entry and its record are never
 * apart. The only stored nodes an append reads are the complete subtrees of the current tree.
 * @example await db.transaction(async (tx) => { await insertVersion(tx, …); await appendLogEntries(tx, [entry], now); })
 */
export async function appendLogEntries(tx: Executor, entries: readonly LogEntryInput[], at: string): Promise<{ idx: number; leafHash: Hash }[]> {
  if (entries.length === 0) return [];
  const size = await logSize(tx);
  const leafHashes = entries.map((e) => hashLeaf(e.body));
  const nodes = appendLeafHashes(size, leafHashes, await logHashes(tx, treeRootNodes(size)));
  const rows = entries.map((e, i) => ({ idx: size + i, kind: e.kind, subject: e.subject, form: e.form, body: Buffer.from(e.body), leafHash: Buffer.from(leafHashes[i]!), createdAt: at }));
  if (tx.dialect === 'sqlite') {
    // Row by row on SQLite, each statement's text the same whatever the number (sqlite-direct.ts).
    await direct(
      tx,
      (c) => {
        const entry = c.prepare('INSERT INTO log_entries (idx, kind, subject, form, body, leaf_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
        for (const r of rows) entry.run(r.idx, r.kind, r.subject, r.form, r.body, r.leafHash, r.createdAt);
        const node = c.prepare('INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)');
        for (const n of nodes) node.run(n.level, n.index, Buffer.from(n.hash));
      },
      () => Promise.resolve(),
    );
    return leafHashes.map((leafHash, i) => ({ idx: size + i, leafHash }));
  }
  await query(tx, (q) => q.insert(logEntries).values(rows));
  for (let i = 0; i < nodes.length; i += 200) {
    const batch = nodes.slice(i, i + 200);
    await query(tx, (q) => q.insert(logNodes).values(batch.map((n) => ({ level: n.level, idx: n.index, hash: Buffer.from(n.hash) }))));
  }
  return leafHashes.map((leafHash, i) => ({ idx: size + i, leafHash }));
}

/** Entries `[from, to)` in index order (at most 256: one entry bundle). */
export function logEntriesRange(db: Executor, from: number, to: number): Promise<LogEntryRow[]> {
  return query(db, (q) =>
    q
      .select()
      .from(logEntries)
      .where(and(gte(logEntries.idx, from), lt(logEntries.idx, Math.min(to, from + 256))))
      .orderBy(asc(logEntries.idx)),
  );
}

/** The entry at `idx`. */
export async function logEntryAt(db: Executor, idx: number): Promise<LogEntryRow | undefined> {
  return (await query(db, (q) => q.select().from(logEntries).where(eq(logEntries.idx, idx)).limit(1)))[0];
}

/** The first entry whose leaf hash is `leafHash`. */
export async function logEntryByLeafHash(db: Executor, leafHash: Uint8Array): Promise<LogEntryRow | undefined> {
  return (await query(db, (q) => q.select().from(logEntries).where(eq(logEntries.leafHash, Buffer.from(leafHash))).orderBy(asc(logEntries.idx)).limit(1)))[0];
}

/**
 * The audit sequence number of the newest audit-chain head the log holds, 0 when it holds none.
 * Every checkpoint logs the head first (`audit-head`, subject `audit:<seq>`), and every accepted
 * record is logged in the transaction of its audit event, so each event up to it is logged.
 */
export async function newestLoggedAuditSeq(db: Executor): Promise<number> {
  const row = (await query(db, (q) => q.select({ subject: logEntries.subject }).from(logEntries).where(eq(logEntries.kind, 'audit-head')).orderBy(desc(logEntries.idx)).limit(1)))[0];
  const seq = row ? Number(row.subject.slice('audit:'.length)) : 0;
  return Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
}

/** The entries about `subject` of `kind`, oldest first. */
export function logEntriesFor(db: Executor, subject: string, kind: string): Promise<LogEntryRow[]> {
  // Every publish, approval and version record reads it (sqlite-direct.ts: plain SQL on SQLite).
  return direct(
    db,
    (c) => (c.prepare(`SELECT ${columnsOf(logEntries)} FROM log_entries WHERE subject = ? AND kind = ? ORDER BY idx`).all(subject, kind) as LogEntryRow[]).map(checkedEntry),
    (q) =>
      q
        .select()
        .from(logEntries)
        .where(and(eq(logEntries.subject, subject), eq(logEntries.kind, kind)))
        .orderBy(asc(logEntries.idx))
        .execute(),
  );
}

/**
 * The entries about any of `subjects` of any of `kinds`, oldest first: one statement for what
 * `logEntriesFor` would ask once per subject and kind (one round trip each on PostgreSQL).
 */
export async function logEntriesForAny(db: Executor, subjects: readonly string[], kinds: readonly string[]): Promise<LogEntryRow[]> {
  if (subjects.length === 0 || kinds.length === 0) return [];
  return query(db, (q) =>
    q
      .select()
      .from(logEntries)
      .where(and(inArray(logEntries.subject, [...subjects]), inArray(logEntries.kind, [...kinds])))
      .orderBy(asc(logEntries.idx)),
  );
}

/** Records a signed checkpoint (its exact envelope). A size is signed once. */
export async function insertCheckpoint(tx: Executor, row: { size: number; root: Uint8Array; envelope: string; signedAt: string }): Promise<void> {
  await query(tx, (q) => q.insert(logCheckpoints).values({ size: row.size, root: Buffer.from(row.root), envelope: row.envelope, signedAt: row.signedAt }).onConflictDoNothing());
}

/** The newest signed checkpoint. */
export async function latestCheckpoint(db: Executor): Promise<CheckpointRow | undefined> {
  return (await query(db, (q) => q.select().from(logCheckpoints).orderBy(desc(logCheckpoints.size)).limit(1)))[0];
}

/** The signed checkpoint of exactly `size` leaves. */
export async function checkpointAt(db: Executor, size: number): Promise<CheckpointRow | undefined> {
  return (await query(db, (q) => q.select().from(logCheckpoints).where(eq(logCheckpoints.size, size)).limit(1)))[0];
}

/**
 * The first signed checkpoint holding at least `size` leaves: the one an entry's inclusion proof
 * is given against in the bundles the registry serves, so that proof never changes once signed.
 */
export async function checkpointCovering(db: Executor, size: number): Promise<CheckpointRow | undefined> {
  return direct(
    db,
    (c) => {
      const row = c.prepare(`SELECT ${columnsOf(logCheckpoints)} FROM log_checkpoints WHERE size >= ? ORDER BY size LIMIT 1`).get(size) as CheckpointRow | undefined;
      if (row) row.root = storedBytes(row.root, 'log_checkpoints.root', 32);
      return row;
    },
    async (q) => (await q.select().from(logCheckpoints).where(gte(logCheckpoints.size, size)).orderBy(asc(logCheckpoints.size)).limit(1))[0],
  );
}
