import type Database from 'better-sqlite3';

/**
 * Answers of the hottest point reads on SQLite (GET a version, GET a server, the token and approved
 * versions of v0.1 GET version), kept per
 * connection only while the database provably holds what they were read from. Before each read
 * one statement reads the connection's change stamp: `PRAGMA data_version`, which changes
 * whenever another connection (another process, the sqlite3 CLI, a second handle in this one)
 * has committed since this connection last read, with `total_changes()`, which counts every row
 * this connection has inserted, updated or deleted since it opened (its own writes, the registry's
 * and any made through `raw` alike; a rolled-back one too, which only makes the stamp move more
 * often). Both only grow, so a stamp equal to the one an answer was read under means no row
 * changed since that read: the answer is what the read would give now. Any other stamp drops
 * every kept answer. The stamp is read first, then the answer, in one synchronous run: a commit
 * between the two gives an answer newer than its stamp, never older, and the next stamp differs.
 *
 * Inside a transaction (a write's, which may still roll back, or a snapshot's) nothing is kept or
 * served: the read runs. The kept answers are the read functions' own objects, handed to every
 * caller that asks the same question: read them, never change them. Bounded: cleared at
 * {@link MOST} entries. Schema changes on this connection (not row changes) do not move the stamp;
 * the registry makes them only while it opens the database, before any read.
 */
interface Memo {
  stamp: Database.Statement;
  dataVersion: number;
  changes: number;
  entries: Map<string, unknown>;
  /** The UTF-8 bytes of the kept texts ({@link rememberedText}), bounded by {@link MOST_TEXT_BYTES}. */
  textBytes: number;
}

const memos = new WeakMap<Database.Database, Memo>();

/** Most answers kept per connection (a flood of distinct questions only clears them). */
export const MOST = 4096;

/**
 * `read()`'s answer to the question `key` (one string naming the read and its parameters), kept
 * while the stamp stays (see above) when `keep(answer)`; run as it is inside a transaction.
 * @example const found = remembered(sqlite, `token\0${hash}`, () => statement.get(hash), (row) => row !== undefined);
 */
export function remembered<T>(connection: Database.Database, key: string, read: () => T, keep: (answer: T) => boolean): T {
  if (connection.inTransaction) return read();
  const memo = stamped(connection);
  const hit = memo.entries.get(key);
  if (hit !== undefined) return hit as T;
  const answer = read();
  if (keep(answer)) {
    if (memo.entries.size >= MOST) clear(memo);
    memo.entries.set(key, answer);
  }
  return answer;
}

/** Most UTF-8 bytes of text answers kept per connection ({@link rememberedText}). */
export const MOST_TEXT_BYTES = 32 * 1024 * 1024;

/**
 * {@link remembered} for a read that awaits (a page read in one snapshot: Db.snapshot), whose
 * answer is text. The stamp is read outside any transaction, before `read` starts one, so what
 * `read` sees is at least as new as the stamp. The answer is kept only if no other read saw the
 * stamp move meanwhile (it would then be kept under a newer stamp than the state it may have
 * read); a commit during the read that no one saw yet moves the stamp at the next ask, which
 * drops it. Inside a transaction the read runs and nothing is kept.
 */
export async function rememberedText(connection: Database.Database, key: string, read: () => Promise<string>): Promise<string> {
  if (connection.inTransaction) return read();
  const memo = stamped(connection);
  const hit = memo.entries.get(key);
  if (typeof hit === 'string') return hit;
  const { dataVersion, changes } = memo;
  const answer = await read();
  const bytes = Buffer.byteLength(answer, 'utf8');
  if (memo.dataVersion === dataVersion && memo.changes === changes && bytes <= MOST_TEXT_BYTES / 16) {
    if (memo.entries.size >= MOST || memo.textBytes + bytes > MOST_TEXT_BYTES) clear(memo);
    memo.entries.set(key, answer);
    memo.textBytes += bytes;
  }
  return answer;
}

/** The connection's memo with the stamp read now: every kept answer dropped if the stamp moved. */
function stamped(connection: Database.Database): Memo {
  let memo = memos.get(connection);
  if (!memo) {
    memo = { stamp: connection.prepare('SELECT d.data_version, total_changes() FROM pragma_data_version AS d').raw(true), dataVersion: -1, changes: -1, entries: new Map(), textBytes: 0 };
    memos.set(connection, memo);
  }
  const [dataVersion, changes] = memo.stamp.get() as [number, number];
  if (dataVersion !== memo.dataVersion || changes !== memo.changes) {
    clear(memo);
    memo.dataVersion = dataVersion;
    memo.changes = changes;
  }
  return memo;
}

function clear(memo: Memo): void {
  memo.entries.clear();
  memo.textBytes = 0;
}
