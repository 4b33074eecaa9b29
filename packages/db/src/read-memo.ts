import { closeSync, openSync, readSync, realpathSync } from 'node:fs';
import { endianness } from 'node:os';
import type Database from 'better-sqlite3';

/**
 * Answers of the hottest point reads on SQLite (GET a version, GET a server, the token and approved
 * versions of v0.1 GET version, the listing pages), kept per connection only while the database
 * provably holds what they were read from. Before each read the connection's change stamp is read:
 * - other connections' commits (another process, the sqlite3 CLI, a second handle in this one):
 *   the WAL-index header, the first 96 bytes of the `-shm` file, which every commit in WAL mode
 *   rewrites (its frame count and checksums; its salts when the log restarts) before any reader can
 *   see the commit (https://www.sqlite.org/walformat.html, "The WAL-Index Header"), read with one
 *   pread. `PRAGMA data_version` says the same, but costs two fcntl lock calls and a statement
 *   (~2.5 µs a read, a fifth of a GET version's CPU); it stays the way for a connection whose
 *   WAL index is not watched ({@link watchWalIndex}: not WAL, in memory, an unknown header version).
 *   A header whose two copies differ (a commit writing it now) counts as a change, and so does
 *   every read of it until it is whole again;
 * - this connection's own writes: `total_changes()`, which counts every row it has inserted,
 *   updated or deleted since it opened (the registry's and any made through `raw` alike; a
 *   rolled-back one too, which only makes the stamp move more often).
 * A stamp equal to the one an answer was read under means no row changed since that read: the
 * answer is what the read would give now. Any other stamp drops every kept answer. The stamp is
 * read first, then the answer, in one synchronous run: a commit between the two gives an answer
 * newer than its stamp, never older, and the next stamp differs.
 *
 * Inside a transaction (a write's, which may still roll back, or a snapshot's) nothing is kept or
 * served: the read runs. The kept answers are the read functions' own objects, handed to every
 * caller that asks the same question: read them, never change them. Bounded: cleared at
 * {@link MOST} entries. Schema changes on this connection (not row changes) do not move the stamp;
 * the registry makes them only while it opens the database, before any read.
 */
interface Memo {
  walIndex: WalIndex | undefined;
  /** The WAL-index header the kept answers were read under (when `whole`). */
  header: Buffer;
  whole: boolean;
  /** `PRAGMA data_version`, when the WAL index is not watched (prepared at the first read). */
  dataVersionOf: Database.Statement | undefined;
  dataVersion: number;
  changesOf: Database.Statement;
  changes: number;
  /** Moves each time the kept answers are dropped ({@link rememberedText} keeps an answer only if it stayed). */
  generation: number;
  entries: Map<string, unknown>;
  /** The UTF-8 bytes of the kept texts ({@link rememberedText}), bounded by {@link MOST_TEXT_BYTES}. */
  textBytes: number;
  /** The point reads asked in this turn of the event loop, answered at its end ({@link remembered}). */
  asks: Ask[];
}

/** A database's `-shm` file, open for reading its header. */
interface WalIndex {
  fd: number;
  /** Both copies of the header as last read (by any memo of the connection's handles). */
  read: Buffer;
}

/** `iVersion` of the WAL-index header this reading of it knows (walformat.html). */
const WAL_INDEX_VERSION = 3007000;
const HEADER_BYTES = 48;

const walIndexes = new WeakMap<Database.Database, WalIndex>();

/**
 * Reads other connections' commits off the WAL-index header (see above) from now on, for the
 * `handles` of one connection (it and any proxy of it, each with a memo of its own), when the
 * database at `databasePath` (the path it was opened with) is in WAL mode with a header of the
 * known version; otherwise their stamps keep reading `PRAGMA data_version`. The file is held open
 * until {@link unwatchWalIndex}; SQLite removes it only when the last connection of every process
 * has closed, and this one is open while it is watched.
 */
export function watchWalIndex(handles: readonly Database.Database[], databasePath: string): void {
  const connection = handles[0]!;
  if (walIndexes.has(connection) || connection.pragma('journal_mode', { simple: true }) !== 'wal') return;
  // The file SQLite opened (it follows symbolic links, and keeps its -shm beside the target): a
  // stale -shm beside a link would never change. Not watched unless both name the same file.
  const main = (connection.pragma('database_list') as Array<{ name: string; file: string }>).find((d) => d.name === 'main')?.file;
  let fd: number;
  try {
    if (!main || realpathSync(databasePath) !== realpathSync(main)) return;
    fd = openSync(`${main}-shm`, 'r');
  } catch {
    return;
  }
  const read = Buffer.alloc(HEADER_BYTES * 2);
  let known = false;
  try {
    known = readSync(fd, read, 0, read.length, 0) === read.length && (endianness() === 'LE' ? read.readUInt32LE(0) : read.readUInt32BE(0)) === WAL_INDEX_VERSION && read[12] === 1;
  } catch {
    known = false;
  }
  if (!known) {
    closeSync(fd);
    return;
  }
  const index = { fd, read };
  for (const handle of handles) walIndexes.set(handle, index);
}

/** Whether `connection`'s stamp reads the WAL-index header (for tests). */
export function watchesWalIndex(connection: Database.Database): boolean {
  return walIndexes.has(connection);
}

/** Closes what {@link watchWalIndex} opened for these `handles` (before the connection closes). */
export function unwatchWalIndex(handles: readonly Database.Database[]): void {
  const watched = walIndexes.get(handles[0]!);
  if (!watched) return;
  for (const handle of handles) {
    walIndexes.delete(handle);
    memos.delete(handle);
  }
  closeSync(watched.fd);
}

const memos = new WeakMap<Database.Database, Memo>();

/** Most answers kept per connection (a flood of distinct questions only clears them). */
export const MOST = 4096;

/** A point read waiting for the end of its turn of the event loop ({@link remembered}). */
interface Ask {
  key: string;
  read: () => unknown;
  keep: (answer: unknown) => boolean;
  busy: () => Promise<unknown>;
  resolve: (answer: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * `read()`'s answer to the question `key` (one string naming the read and its parameters), kept
 * while the stamp stays (see above) when `keep(answer)`; read now, and never kept, inside a
 * transaction (the caller's own).
 *
 * Otherwise the ask waits for the end of this turn of the event loop (setImmediate, after the I/O
 * callbacks that made the turn's requests), where one stamp is read for every ask of the turn,
 * then each is answered, kept or read, in the same synchronous run. Each request that asked was
 * read off its socket before that stamp, so its answer is at least as new as the database was when
 * it arrived; under load a turn holds many requests (15 a turn with 16 clients), which share one
 * stamp read instead of one each. If a transaction is open at the turn's end (a write group's, or
 * a page's snapshot), the asks read through `busy` (the query path, which waits for the writer).
 * @example const found = await remembered(sqlite, `token\0${hash}`, () => statement.get(hash), (row) => row !== undefined, () => query(...));
 */
export function remembered<T>(connection: Database.Database, key: string, read: () => T, keep: (answer: T) => boolean, busy: () => Promise<T>): T | Promise<T> {
  if (connection.inTransaction) return read();
  const memo = memoOf(connection);
  return new Promise<T>((resolve, reject) => {
    const ask: Ask = { key, read, keep: keep as (answer: unknown) => boolean, busy, resolve: resolve as (answer: unknown) => void, reject };
    if (memo.asks.push(ask) === 1) setImmediate(answerAsks, connection, memo);
  });
}

/**
 * Answers now the asks waiting for the end of the turn on these `handles` (a connection and its
 * proxy): Db calls it just before a write group's BEGIN. Asks made before a write transaction
 * began are answered from the state before it, never made to wait for it (a member of the group
 * awaiting one would wait for itself, holding the write lock for ever).
 */
export function answerAsksNow(handles: readonly Database.Database[]): void {
  for (const handle of handles) {
    const memo = memos.get(handle);
    if (memo && memo.asks.length > 0 && !handle.inTransaction) answerAsks(handle, memo);
  }
}

/** The turn's asks ({@link remembered}): one stamp, then each answered in the same synchronous run. */
function answerAsks(connection: Database.Database, memo: Memo): void {
  const asks = memo.asks;
  if (asks.length === 0) return;
  memo.asks = [];
  if (connection.inTransaction) {
    for (const ask of asks) ask.busy().then(ask.resolve, ask.reject);
    return;
  }
  try {
    stamp(connection, memo);
  } catch (e) {
    // The connection closed, or its stamp cannot be read: no ask is answered from what is kept.
    for (const ask of asks) ask.reject(e);
    return;
  }
  for (const ask of asks) {
    const hit = memo.entries.get(ask.key);
    if (hit !== undefined) {
      ask.resolve(hit);
      continue;
    }
    try {
      const answer = ask.read();
      if (ask.keep(answer)) {
        if (memo.entries.size >= MOST) clear(memo);
        memo.entries.set(ask.key, answer);
      }
      ask.resolve(answer);
    } catch (e) {
      ask.reject(e);
    }
  }
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
  const { generation } = memo;
  const answer = await read();
  const bytes = Buffer.byteLength(answer, 'utf8');
  if (memo.generation === generation && bytes <= MOST_TEXT_BYTES / 16) {
    if (memo.entries.size >= MOST || memo.textBytes + bytes > MOST_TEXT_BYTES) clear(memo);
    memo.entries.set(key, answer);
    memo.textBytes += bytes;
  }
  return answer;
}

/** The connection's memo with the stamp read now: every kept answer dropped if the stamp moved. */
function stamped(connection: Database.Database): Memo {
  const memo = memoOf(connection);
  stamp(connection, memo);
  return memo;
}

function memoOf(connection: Database.Database): Memo {
  let memo = memos.get(connection);
  if (!memo) {
    memo = { walIndex: walIndexes.get(connection), header: Buffer.alloc(HEADER_BYTES), whole: false, dataVersionOf: undefined, dataVersion: -1, changesOf: connection.prepare('SELECT total_changes()').pluck(true), changes: -1, generation: 0, entries: new Map(), textBytes: 0, asks: [] };
    memos.set(connection, memo);
  }
  return memo;
}

/** Reads the stamp: every kept answer dropped if it moved. */
function stamp(connection: Database.Database, memo: Memo): void {
  try {
    const others = othersCommitted(connection, memo);
    const changes = memo.changesOf.get() as number;
    if (others || changes !== memo.changes) {
      clear(memo);
      memo.changes = changes;
    }
  } catch (e) {
    // Half read (the header taken, total_changes() not): the next stamp must not compare equal.
    clear(memo);
    memo.whole = false;
    memo.dataVersion = -1;
    memo.changes = -1;
    throw e;
  }
}

/** Whether another connection may have committed since the last stamp (see the top of this file). */
function othersCommitted(connection: Database.Database, memo: Memo): boolean {
  const index = memo.walIndex;
  if (index === undefined) {
    memo.dataVersionOf ??= connection.prepare('PRAGMA data_version').pluck(true);
    const dataVersion = memo.dataVersionOf.get() as number;
    if (dataVersion === memo.dataVersion) return false;
    memo.dataVersion = dataVersion;
    return true;
  }
  let length = 0;
  try {
    length = readSync(index.fd, index.read, 0, HEADER_BYTES * 2, 0);
  } catch {
    length = 0;
  }
  // Not whole (a commit writing it, or a failed read): a change, now and until it is whole again.
  if (length !== HEADER_BYTES * 2 || index.read.compare(index.read, 0, HEADER_BYTES, HEADER_BYTES, HEADER_BYTES * 2) !== 0) {
    memo.whole = false;
    return true;
  }
  if (memo.whole && index.read.compare(memo.header, 0, HEADER_BYTES, 0, HEADER_BYTES) === 0) return false;
  index.read.copy(memo.header, 0, 0, HEADER_BYTES);
  memo.whole = true;
  return true;
}

function clear(memo: Memo): void {
  memo.entries.clear();
  memo.textBytes = 0;
  memo.generation++;
}
