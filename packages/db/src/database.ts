import { AsyncLocalStorage } from 'node:async_hooks';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.js';

/**
 * The drizzle handle the query functions build on. Queries are written once, in the subset both
 * dialects share, and awaited (`await q.select()…`, `.returning()` for counts), never `.get()`
 * or `.run()`: the same text runs on better-sqlite3 and on PostgreSQL.
 */
export type Drizzle = BetterSQLite3Database<typeof schema>;

export type Dialect = 'sqlite' | 'postgres';

/**
 * A database: queries take it (or a transaction) and return promises. One interface over
 * SQLite and PostgreSQL, so services never ask which one they run on.
 */
export interface Db {
  readonly dialect: Dialect;
  /**
   * Runs `fn` in one write transaction: it commits when `fn` resolves and rolls back when it
   * throws. Do slow work (verification) before: the transaction holds the writer lock.
   * @example await db.transaction(async (tx) => { await insertVersion(tx, row); await appendAudit(tx, event); })
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** @internal the drizzle handle for one statement now, or undefined while another transaction holds the connection. */
  handle(): Drizzle | undefined;
  /** @internal resolves when the transaction holding the connection has ended. */
  idle(): Promise<void>;
}

/** A transaction handle: queries take `Db | Tx` so they compose inside a write transaction. */
export interface Tx {
  readonly dialect: Dialect;
  /** @internal */
  handle(): Drizzle;
  /** @internal */
  idle(): Promise<void>;
}

export type Executor = Db | Tx;

/**
 * Runs one statement built on `ex`'s drizzle handle and resolves with its result. On SQLite the
 * statement runs at once (`execute()` is synchronous there) unless another transaction is open,
 * in which case it runs when that one ends: never inside someone else's transaction.
 * @example const rows = await query(db, (q) => q.select().from(servers));
 */
export async function query<T>(ex: Executor, build: (q: Drizzle) => { execute(): Promise<T> }): Promise<T> {
  let q = ex.handle();
  // Checked and run in the same tick: no transaction can begin in between.
  while (!q) {
    await ex.idle();
    q = ex.handle();
  }
  return build(q).execute();
}

export interface OpenDatabase {
  db: Db;
  /** The underlying connection, for PRAGMAs and tests. */
  sqlite: Database.Database;
  close(): void;
}

/** The repository's `migrations/` folder (written by drizzle-kit, append-only). */
export function defaultMigrationsFolder(): string {
  return fileURLToPath(new URL('../../../migrations', import.meta.url));
}

/**
 * Opens (creating if needed) the SQLite database, with WAL, foreign keys and a busy timeout, and
 * applies every migration before anything else runs.
 * @example const { db, close } = openDatabase('.sigil/registry.db');
 */
export function openDatabase(path: string, options: { migrationsFolder?: string } = {}): OpenDatabase {
  if (path !== ':memory:') {
    // The database holds token hashes, bundles and the audit log: this user only. SQLite creates
    // the -wal and -shm files with the database file's mode; existing files are tightened.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'a', 0o600));
    for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
  }
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  // FULL: an acknowledged write survives power loss, not just a process crash.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const drizzled = drizzle(sqlite, { schema });
  migrate(drizzled, { migrationsFolder: options.migrationsFolder ?? defaultMigrationsFolder() });
  return {
    db: new SqliteDb(sqlite, drizzled),
    sqlite,
    close: () => {
      if (sqlite.open) sqlite.close();
    },
  };
}

/**
 * SQLite behind the async interface. One connection serves every request, so a transaction
 * must not interleave with other work: transactions run one at a time (a promise queue), and a
 * query from outside the open transaction waits until it ends, so nobody reads its uncommitted
 * rows or slips a write into it. Inside the transaction (tracked with AsyncLocalStorage) the
 * database handle goes straight through, so a nested read through `db` cannot deadlock.
 */
class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  private readonly inside = new AsyncLocalStorage<SqliteTx>();
  private tail: Promise<void> = Promise.resolve();
  private open: SqliteTx | undefined;

  constructor(
    private readonly sqlite: Database.Database,
    private readonly drizzled: Drizzle,
  ) {}

  handle(): Drizzle | undefined {
    return !this.open || this.inside.getStore() === this.open ? this.drizzled : undefined;
  }

  idle(): Promise<void> {
    return this.tail;
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const current = this.inside.getStore();
    // A transaction inside this one's async context joins it (SQLite has one writer anyway).
    if (current && current === this.open) return fn(current);
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    const tx = new SqliteTx(this.drizzled);
    this.open = tx;
    try {
      // IMMEDIATE: take the write lock now, so another process's writer waits (busy_timeout)
      // at BEGIN rather than failing at the first write.
      this.sqlite.exec('BEGIN IMMEDIATE');
      try {
        const result = await this.inside.run(tx, () => fn(tx));
        this.sqlite.exec('COMMIT');
        return result;
      } catch (e) {
        if (this.sqlite.inTransaction) this.sqlite.exec('ROLLBACK');
        throw e;
      }
    } finally {
      this.open = undefined;
      release();
    }
  }
}

class SqliteTx implements Tx {
  readonly dialect = 'sqlite' as const;
  constructor(private readonly drizzled: Drizzle) {}
  handle(): Drizzle {
    return this.drizzled;
  }
  idle(): Promise<void> {
    return Promise.resolve();
  }
}
