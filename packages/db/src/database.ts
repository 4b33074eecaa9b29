import { AsyncLocalStorage } from 'node:async_hooks';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { DrizzleQueryError } from 'drizzle-orm';
import type { drizzle as DrizzlePg } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { answerAsksNow, rememberedText, unwatchWalIndex, watchWalIndex } from './read-memo.js';
import * as schema from './schema.js';
import { fillServerJsonPg, fillServerJsonSqlite } from './server-json.js';

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
  /**
   * Runs `fn`'s reads on one consistent state of the database, as one statement would see it:
   * no write commits between two of them (a page that lists what is approved, then reads what it
   * listed, never serves what was revoked in between). Reads only: a write transaction started
   * inside waits for the snapshot to end. PostgreSQL: a REPEATABLE READ, READ ONLY transaction on
   * one connection (no lock: writers go on, unseen). SQLite: a read transaction that write
   * transactions wait for (better-sqlite3 reads do not wait on I/O, so it is held for microseconds).
   * So `fn` awaits nothing but this database's reads: no timer, network or file I/O, and no
   * snapshot inside it. A pending write group waits while any snapshot reads, so a body that awaited
   * I/O would let a stream of overlapping listings hold off every write (a revocation included).
   * Inside a write transaction, `fn` runs in it.
   * @example const page = await db.snapshot(async () => { const ids = await listIds(db); return readRows(db, ids); });
   */
  snapshot<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * {@link snapshot} of a read whose answer is text (a page of a listing), named by `key` (the
   * read and every parameter it depends on). SQLite: the answer is kept while the database's
   * change stamp stays (read-memo.ts: no row changed since, by this connection, another one or
   * another process), so the same question is answered without reading again. PostgreSQL (several
   * instances write; no cheap stamp): read every time.
   */
  keptSnapshot(key: string, fn: () => Promise<string>): Promise<string>;
  /**
   * Resolves when the database answers and holds every migration this build knows (what
   * `/readyz` reports); rejects with the reason otherwise.
   */
  ready(): Promise<void>;
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
  if (ex.dialect === 'sqlite') return build(q).execute();
  try {
    return await build(q).execute();
  } catch (e) {
    // drizzle wraps the driver's error in "Failed query: …"; the trigger's code is in the cause.
    throw e instanceof DrizzleQueryError && e.cause instanceof Error ? e.cause : e;
  }
}

/**
 * Statements outside the query functions, on either dialect: for tests that tamper with rows
 * behind the registry, and for one-off checks. Placeholders are `?` on both (rewritten to `$1`,
 * `$2`, … for PostgreSQL, outside quoted text); the SQL itself must be what both dialects
 * understand, or be chosen by `dialect`. On SQLite a statement waits until the open write
 * transaction has ended, as the query functions do.
 * @example await raw.run('update versions set status = ? where id = ?', ['approved', id]);
 */
export interface RawSql {
  readonly dialect: Dialect;
  all<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  /** Runs one statement; resolves with the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
}

/** `?` placeholders as PostgreSQL's `$1`, `$2`, …; a `?` inside '…', "…" or a `--` comment is left alone (not `$$` bodies or block comments: raw statements are plain). */
export function numberedPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    const quote = c === "'" || c === '"' ? c : undefined;
    if (quote) {
      const end = sql.indexOf(quote, i + 1);
      const stop = end === -1 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else out += c === '?' ? `$${++n}` : c;
  }
  return out;
}

export interface OpenDatabase {
  db: Db;
  /** The underlying connection, for PRAGMAs and tests. */
  sqlite: Database.Database;
  raw: RawSql;
  close(): void;
}

/** The repository's `migrations/` folder (written by drizzle-kit, append-only); PostgreSQL's are in `migrations/pg`. */
export function defaultMigrationsFolder(dialect: Dialect = 'sqlite'): string {
  return fileURLToPath(new URL(dialect === 'sqlite' ? '../../../migrations' : '../../../migrations/pg', import.meta.url));
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
  const cached = withStatementCache(sqlite);
  const drizzled = drizzle(cached, { schema });
  const migrationsFolder = options.migrationsFolder ?? defaultMigrationsFolder();
  migrate(drizzled, { migrationsFolder });
  // Rows stored before migration 0009 get their server_json before anything reads them.
  fillServerJsonSqlite(sqlite);
  const db = new SqliteDb(sqlite, drizzled, readMigrationFiles({ migrationsFolder }).length);
  // Other connections' commits read off the WAL-index header, not a statement per read (read-memo.ts).
  // The point reads keep their answers on the proxy drizzle reads through, the pages on the connection.
  if (path !== ':memory:') watchWalIndex([sqlite, cached], resolve(path));
  // Outside anyone's open transaction (query()'s rule), then synchronously.
  const statement = async (sql: string) => {
    while (!db.handle()) await db.idle();
    return sqlite.prepare(sql);
  };
  return {
    db,
    sqlite,
    raw: {
      dialect: 'sqlite',
      all: async <T>(sql: string, params: readonly unknown[] = []) => (await statement(sql)).all(...params) as T[],
      get: async <T>(sql: string, params: readonly unknown[] = []) => (await statement(sql)).get(...params) as T | undefined,
      run: async (sql: string, params: readonly unknown[] = []) => (await statement(sql)).run(...params).changes,
    },
    close: () => {
      unwatchWalIndex([sqlite, cached]);
      if (sqlite.open) sqlite.close();
    },
  };
}

/** Most statements kept prepared per connection (see {@link withStatementCache}). */
const STATEMENT_CACHE = 512;

/**
 * The connection as drizzle sees it, with `prepare` remembering its statements by SQL text: the
 * query builder builds the same text for the same query and prepared it anew on every call
 * (SQLite compiling the text each time: the largest single cost of a publish in a profile). A
 * statement handed out again is reset to rows as objects first (drizzle turns `raw` on for its
 * mapped reads, and reads a statement of plain SQL without it); the oldest is dropped beyond {@link STATEMENT_CACHE}. Only the compilation is
 * kept: every call runs the statement against the database.
 */
function withStatementCache(sqlite: Database.Database): Database.Database {
  const statements = new Map<string, Database.Statement>();
  const prepare = (source: string): Database.Statement => {
    let statement = statements.get(source);
    if (statement) {
      statements.delete(source);
      if (statement.reader) statement.raw(false);
    } else {
      statement = sqlite.prepare(source);
      if (statements.size >= STATEMENT_CACHE) statements.delete(statements.keys().next().value!);
    }
    statements.set(source, statement);
    return statement;
  };
  return new Proxy(sqlite, {
    get(target, key) {
      if (key === 'prepare') return prepare;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Most transactions committed together in one group (one COMMIT, one fsync). */
const MAX_GROUP = 64;

interface Queued {
  fn: (tx: Tx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** The caller's async context, restored around `fn`. */
  context: <R>(fn: () => R) => R;
}

/**
 * SQLite behind the async interface. One connection serves every request, so a transaction
 * must not interleave with other work: transactions run one at a time, and a query from outside
 * the open transaction waits until it ends, so nobody reads its uncommitted rows or slips a
 * write into it. Inside the transaction (tracked with AsyncLocalStorage) the database handle
 * goes straight through, so a nested read through `db` cannot deadlock.
 *
 * Group commit: with `synchronous = FULL` every COMMIT waits for an fsync of the WAL (about 4 ms
 * on the development machine, with the event loop blocked, since better-sqlite3 is synchronous),
 * which capped concurrent publishes near 1 / fsync. Transactions that are waiting when the
 * writer turns to them run in one SQLite transaction, each in its own SAVEPOINT: one that throws
 * is rolled back to its savepoint and rejected alone, the others go on. Each caller's promise
 * settles only after the group's COMMIT returned (durable), so none is acknowledged before its
 * writes are on disk; if the COMMIT fails, every member of the group fails. A transaction sees
 * the writes of the group members before it, as it would have seen them committed one by one.
 */
class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  private readonly inside = new AsyncLocalStorage<SqliteTx>();
  private tail: Promise<void> = Promise.resolve();
  private open: SqliteTx | undefined;
  private readonly queue: Queued[] = [];
  private draining = false;
  /** Snapshots reading now (they share one read transaction), and when the last one ends. */
  private snapshots = 0;
  private snapshotsDone: Promise<void> = Promise.resolve();
  private endSnapshots: () => void = () => {};

  constructor(
    private readonly sqlite: Database.Database,
    private readonly drizzled: Drizzle,
    private readonly migrations: number,
  ) {}

  async ready(): Promise<void> {
    await this.idle();
    const applied = (this.sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }).n;
    if (applied < this.migrations) throw new Error(`${applied} of ${this.migrations} migrations applied`);
  }

  handle(): Drizzle | undefined {
    return !this.open || this.inside.getStore() === this.open ? this.drizzled : undefined;
  }

  idle(): Promise<void> {
    return this.tail;
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const current = this.inside.getStore();
    // A transaction inside this one's async context joins it (SQLite has one writer anyway).
    if (current && current === this.open) return fn(current);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (value: unknown) => void, reject, context: AsyncLocalStorage.snapshot() });
      if (this.draining) return;
      this.draining = true;
      // After the I/O callbacks of this turn of the event loop: the transactions they start
      // join this group.
      setImmediate(() => void this.drain());
    });
  }

  keptSnapshot(key: string, fn: () => Promise<string>): Promise<string> {
    return rememberedText(this.sqlite, key, () => this.snapshot(fn));
  }

  async snapshot<T>(fn: () => Promise<T>): Promise<T> {
    const current = this.inside.getStore();
    if (current && current === this.open) return fn();
    // After the open write transaction (its reads are not this one's); reads of others go on
    // meanwhile, inside the same read transaction (WAL: other processes' commits stay unseen).
    while (this.open) await this.tail;
    if (this.snapshots++ === 0) this.snapshotsDone = new Promise<void>((resolve) => (this.endSnapshots = resolve));
    try {
      if (!this.sqlite.inTransaction) this.sqlite.exec('BEGIN');
      return await fn();
    } finally {
      if (--this.snapshots === 0) {
        if (this.sqlite.inTransaction) this.sqlite.exec('COMMIT');
        this.endSnapshots();
      }
    }
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) await this.runGroup(this.queue.splice(0, MAX_GROUP));
    } finally {
      this.draining = false;
      // No transaction is open now: the context is off until the next one's run() turns it on
      // again. On Node 20 an enabled AsyncLocalStorage runs an async hook at every promise and
      // tick of every request (a read never needs it: handle() asks for it only while a
      // transaction is open). A context left from an ended transaction never matched a later
      // one (each has its own SqliteTx), so nothing waits or joins differently.
      this.inside.disable();
    }
  }

  /** Ends the open transaction without its writes; a ROLLBACK that fails leaves the callers' errors as they are. */
  private rollback(): void {
    try {
      if (this.sqlite.inTransaction) this.sqlite.exec('ROLLBACK');
    } catch {
      // Nothing is acknowledged from this group; the next BEGIN fails if the connection is broken.
    }
  }

  private async runGroup(group: Queued[]): Promise<void> {
    // A snapshot reading now ends first: no write commits in the middle of it.
    while (this.snapshots > 0) await this.snapshotsDone;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    const tx = new SqliteTx(this.drizzled);
    this.open = tx;
    const done: Array<{ member: Queued; value: unknown }> = [];
    const failed: Array<{ member: Queued; error: unknown }> = [];
    try {
      // Point reads asked before this group began are answered from the state before it (read-memo.ts).
      answerAsksNow([this.sqlite, (this.drizzled as unknown as { $client: Database.Database }).$client]);
      // IMMEDIATE: take the write lock now, so another process's writer waits (busy_timeout)
      // at BEGIN rather than failing at the first write.
      this.sqlite.exec('BEGIN IMMEDIATE');
    } catch (e) {
      this.open = undefined;
      release();
      for (const member of group) member.reject(e);
      return;
    }
    const alone = group.length === 1;
    let abandoned = false;
    let next = 0;
    for (; next < group.length; next++) {
      const member = group[next]!;
      try {
        if (!alone) this.sqlite.exec('SAVEPOINT sigil_member');
        const value = await member.context(() => this.inside.run(tx, () => member.fn(tx)));
        if (!alone) this.sqlite.exec('RELEASE sigil_member');
        done.push({ member, value });
      } catch (e) {
        failed.push({ member, error: e });
        let undone = !alone && this.sqlite.inTransaction;
        if (undone) {
          try {
            this.sqlite.exec('ROLLBACK TO sigil_member; RELEASE sigil_member');
          } catch {
            undone = false;
          }
        }
        if (!undone && !alone) {
          // SQLite rolled the whole transaction back (an I/O error, a full disk), or its
          // savepoint could not be undone: the members before this one fail with it; those
          // after it have not run and go again in the next group.
          this.rollback();
          abandoned = true;
          next++;
          break;
        }
      }
    }
    const rest = group.slice(next);
    try {
      if (this.sqlite.inTransaction && !abandoned) {
        if (done.length > 0) this.sqlite.exec('COMMIT');
        else this.sqlite.exec('ROLLBACK');
      } else {
        // Rolled back, or abandoned with a ROLLBACK that failed: never committed.
        this.rollback();
        for (const d of done.splice(0)) failed.push({ member: d.member, error: new Error('the transaction was rolled back with the group it was committed in') });
      }
    } catch (e) {
      this.rollback();
      for (const d of done.splice(0)) failed.push({ member: d.member, error: e });
    } finally {
      this.open = undefined;
      release();
    }
    this.queue.unshift(...rest);
    for (const d of done) d.member.resolve(d.value);
    for (const f of failed) f.member.reject(f.error);
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

/** A PostgreSQL database: the pool, for health checks and shutdown. */
export interface OpenPostgres {
  db: Db;
  pool: pg.Pool;
  raw: RawSql;
  /** Write transactions run again after a serialization failure (only with `writes: 'serializable'`). */
  readonly stats: { retries: number };
  close(): Promise<void>;
}

/**
 * The key of the advisory locks: one for migrations (two instances starting together apply them
 * once), one every write transaction takes first (writers run one at a time, as on SQLite, so
 * the audit chain, the approval count and the version-exists check stay exact across instances).
 */
const MIGRATION_LOCK = 0x5161_0001;
const WRITE_LOCK = 0x5161_0002;

/**
 * bigint columns and count(*) as numbers (every value here stays far below 2^53), as SQLite
 * gives them: for this pool's connections only, never on the driver's global table, which other
 * users of `pg` in the process share.
 */
const INT8_AS_NUMBER = {
  getTypeParser: (oid: number, format?: string) => (oid === pg.types.builtins.INT8 && format !== 'binary' ? Number : pg.types.getTypeParser(oid, format as 'text')),
} as unknown as pg.CustomTypesConfig;

/**
 * A connection that keeps INT8_AS_NUMBER under drizzle too: drizzle gives each query its own
 * parser table (text dates), which falls back to the driver's global table, not the
 * connection's, so that table is wrapped once more here.
 */
class NumbersClient extends pg.Client {
  override query(...args: unknown[]): never {
    const [config] = args;
    if (config && typeof config === 'object' && 'types' in config && (config as pg.QueryConfig).types) {
      const inner = (config as pg.QueryConfig).types!;
      const types = { getTypeParser: (oid: number, format?: string) => (oid === pg.types.builtins.INT8 && format !== 'binary' ? Number : inner.getTypeParser(oid, format as 'text')) };
      args[0] = { ...config, types };
    }
    return (super.query as (...a: unknown[]) => never)(...args);
  }
}

/**
 * Connects to PostgreSQL (`postgres://…`) and applies every migration under an advisory lock
 * before anything else runs.
 * @example const { db, close } = await openPostgres(process.env.SIGIL_DATABASE_URL);
 */
export async function openPostgres(url: string, options: { migrationsFolder?: string; max?: number; writes?: PostgresWrites; pipelines?: number; pipelinedReadTimeoutMs?: number } = {}): Promise<OpenPostgres> {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, types: INT8_AS_NUMBER, Client: NumbersClient });
  // An idle connection the server ends (a restart, a terminated backend) is dropped by the pool,
  // and the next query opens another; unheard, the pool's 'error' would end the process.
  pool.on('error', () => {});
  // drizzle's PostgreSQL driver only when PostgreSQL is used: a start on SQLite then loads about 30
  // fewer of drizzle's ES modules, each of which makes Node 22 and 24 read drizzle-orm's 180 kB
  // package.json again (nodejs/node#58126; docs/deploy.md, "Start-up").
  const [{ drizzle: drizzlePg }, { migrate: migratePg }] = await Promise.all([import('drizzle-orm/node-postgres'), import('drizzle-orm/node-postgres/migrator')]);
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await migratePg(drizzlePg(client), { migrationsFolder: options.migrationsFolder ?? defaultMigrationsFolder('postgres') });
      // Under the migration lock: one instance fills the rows stored before pg/0006.
      await fillServerJsonPg(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
  const migrations = readMigrationFiles({ migrationsFolder: options.migrationsFolder ?? defaultMigrationsFolder('postgres') }).length;
  const stats = { retries: 0 };
  const pipelines = new Pipelines(url, options.pipelines ?? 2, options.pipelinedReadTimeoutMs ?? PIPELINED_READ_TIMEOUT_MS);
  const db = new PostgresDb(pool, migrations, options.writes ?? 'advisory-lock', stats, pipelines, drizzlePg);
  const rows = async <T>(sql: string, params: readonly unknown[]) => (await pool.query(numberedPlaceholders(sql), params as unknown[])) as unknown as pg.QueryResult<T & pg.QueryResultRow>;
  return {
    db,
    pool,
    stats,
    raw: {
      dialect: 'postgres',
      all: async <T>(sql: string, params: readonly unknown[] = []) => (await rows<T>(sql, params)).rows,
      get: async <T>(sql: string, params: readonly unknown[] = []) => (await rows<T>(sql, params)).rows[0],
      run: async (sql: string, params: readonly unknown[] = []) => (await rows(sql, params)).rowCount ?? 0,
    },
    close: async () => {
      await pipelines.end();
      await endPool(pool);
    },
  };
}

/** Resolves once every connection has closed (`pool.end()` resolves when none is idle, before the sockets end). */
async function endPool(pool: pg.Pool): Promise<void> {
  let open = pool.totalCount;
  const closed = new Promise<void>((resolve) => {
    if (open === 0) resolve();
    pool.on('remove', () => {
      if (--open === 0) resolve();
    });
  });
  await pool.end();
  await closed;
}

/**
 * How write transactions stay exact with several writers: `advisory-lock` (the registry's choice)
 * takes one transaction-scoped advisory lock first, so writers run one at a time across every
 * instance; `serializable` runs them at SERIALIZABLE isolation and runs one again (up to
 * SERIALIZABLE_ATTEMPTS times) when PostgreSQL refuses it as a serialization failure (40001), a
 * deadlock (40P01) or a unique violation (23505: two writers that read the same audit tip or log
 * size both insert its successor). Measured against each other by scripts/bench/pg-writers.mjs
 * (docs/deploy.md); only the lock is used by the registry.
 */
export type PostgresWrites = 'advisory-lock' | 'serializable';
const SERIALIZABLE_ATTEMPTS = 30;
const RETRYABLE = new Set(['40001', '40P01', '23505']);

/**
 * PostgreSQL behind the async interface. A write transaction holds one pooled connection and
 * first takes a transaction-scoped advisory lock, so writers are serialised across every
 * instance; reads outside a transaction go to the pool. Inside a transaction (AsyncLocalStorage)
 * the database handle is the transaction's, as with SQLite's one connection. The context is on
 * only while a transaction or snapshot is open (as on SQLite, between groups): enabled, Node 20
 * runs an async hook at every promise of every request, reads included, which never need it.
 */
class PostgresDb implements Db {
  readonly dialect = 'postgres' as const;
  private readonly inside = new AsyncLocalStorage<PostgresTx>();
  private readonly drizzled: Drizzle;
  /** Transactions and snapshots open now (they overlap, each on its own connection). */
  private open = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly migrations: number,
    private readonly writes: PostgresWrites,
    private readonly stats: { retries: number },
    private readonly pipelines: Pipelines,
    private readonly drizzlePg: typeof DrizzlePg,
  ) {
    // The same table objects on both dialects: the queries use only what both builders share.
    this.drizzled = drizzlePg(pool) as unknown as Drizzle;
  }

  async ready(): Promise<void> {
    const { rows } = await this.pool.query<{ n: number }>('SELECT count(*) AS n FROM drizzle.__drizzle_migrations');
    const applied = Number(rows[0]?.n ?? 0);
    if (applied < this.migrations) throw new Error(`${applied} of ${this.migrations} migrations applied`);
  }

  /**
   * The transaction of this async context, if it is still open: a callback a transaction left
   * behind (a timer, a promise not awaited) keeps its context after the COMMIT, and must not run
   * on the connection handed back to the pool.
   */
  private current(): PostgresTx | undefined {
    const tx = this.inside.getStore();
    return tx && !tx.ended ? tx : undefined;
  }

  handle(): Drizzle {
    return this.current()?.handle() ?? this.drizzled;
  }

  /** @internal a pipelined connection for one short read now, or undefined inside a transaction (its own connection) or while none is connected. */
  pipelined(): PgQueryable | undefined {
    return this.current() ? undefined : this.pipelines.client();
  }

  idle(): Promise<void> {
    return Promise.resolve();
  }

  keptSnapshot(_key: string, fn: () => Promise<string>): Promise<string> {
    return this.snapshot(fn);
  }

  async snapshot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.current()) return fn();
    return this.onConnection((client) => client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY'), fn);
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const current = this.current();
    if (current) return fn(current);
    if (this.writes === 'advisory-lock') return this.attempt(fn);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(fn);
      } catch (e) {
        if (attempt >= SERIALIZABLE_ATTEMPTS || !RETRYABLE.has((e as { code?: string }).code ?? '')) throw e;
        this.stats.retries++;
        // A random pause that doubles with the attempts (at most 100 ms), so the writers that
        // collided spread out.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** attempt)));
      }
    }
  }

  private attempt<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.onConnection(async (client) => {
      if (this.writes === 'advisory-lock') {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
      } else {
        await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      }
    }, fn);
  }

  /** `fn` in a transaction of its own on a pooled connection, begun by `begin`; a connection whose ROLLBACK fails is dropped, not reused. */
  private async onConnection<T>(begin: (client: pg.PoolClient) => Promise<unknown>, fn: (tx: Tx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await begin(client);
      const tx = new PostgresTx(this.drizzlePg(client) as unknown as Drizzle);
      this.open++;
      try {
        const result = await this.inside.run(tx, () => fn(tx));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw e;
      } finally {
        tx.ended = true;
        // None open now: the context is off until the next one's run() turns it on again.
        if (--this.open === 0) this.inside.disable();
      }
    } finally {
      client.release(broken);
    }
  }
}

/** What node-postgres' Pool and Client both answer. */
export interface PgQueryable {
  query(config: { name: string; text: string; values: unknown[]; rowMode?: 'array' }): Promise<{ rows: unknown[] }>;
}

/** The extended-protocol messages node-postgres' Query writes (pg 8's Connection). */
interface PgConnection {
  submittedNamedStatements: Record<string, string>;
  parse(message: { text: string; name: string }): void;
  bind(message: { statement: string; values: readonly unknown[] }): void;
  execute(message: { portal: string }): void;
  sync(): void;
}
interface PgQueryInternals {
  text: string;
  name: string;
  values: readonly unknown[];
  hasBeenParsed(connection: PgConnection): boolean;
}
// Made from the text (not a config object, which the driver copies property by property), named after.
const PgQuery = pg.Query as unknown as new (text: string, values: readonly unknown[], callback: (error: Error | null) => void) => PgQueryInternals;

/**
 * A named statement whose rows are wanted as the server's text, one array per row, with the
 * columns' types known to the caller: node-postgres' Query without the Describe message, so the
 * server sends no row description and no parser table or row object is built per read (a third
 * of the driver's work per hot read, with 28 columns). Its values are strings or null.
 */
class TextRowsQuery extends PgQuery {
  readonly textRows: Array<Array<string | null>> = [];

  prepare(connection: PgConnection): void {
    if (!this.hasBeenParsed(connection)) {
      connection.parse({ text: this.text, name: this.name });
      connection.submittedNamedStatements[this.name] = this.text;
    }
    connection.bind({ statement: this.name, values: this.values });
    connection.execute({ portal: '' });
    connection.sync();
  }

  handleRowDescription(): void {}

  handleDataRow(message: { fields: Array<string | null> }): void {
    this.textRows.push(message.fields);
  }
}

/**
 * The rows of the named statement `name` as the server's text (one array per row), on a client
 * (pipelined or not) of this package: see {@link TextRowsQuery}. `values` are strings or numbers (sent as text).
 */
export function textRows(client: PgQueryable, statement: { name: string; text: string }, values: ReadonlyArray<string | number>): Promise<Array<Array<string | null>>> {
  return new Promise((resolve, reject) => {
    const text = values.map(String);
    const q: TextRowsQuery = new TextRowsQuery(statement.text, text, (error) => (error ? reject(error) : resolve(q.textRows)));
    q.name = statement.name;
    (client as unknown as pg.Client).query(q as unknown as pg.QueryConfig);
  });
}

/**
 * Connections in node-postgres' pipeline mode for the short hot reads (point lookups by index):
 * a statement is written without waiting for the one before it to be answered, and the
 * statements of one turn of the event loop leave in one write (the socket is corked until
 * setImmediate), so a burst of concurrent reads costs one write on each side and one wake-up of
 * the server process instead of one per read, and the server answers them back to back. The
 * turns alternate between `size` connections, so the server works on two batches at once. Every
 * read is still a statement of its own, answered from the database. A connection that fails is
 * dropped (its reads fail, and the read path answers through the Hono app, on the pool) and made
 * again on the next read; until it is connected, reads use the pool. A connection that stops
 * answering is failed too: a read unanswered after {@link PIPELINED_READ_TIMEOUT_MS} ends the
 * connection (node-postgres' query_timeout destroys a pipelined socket, failing every read queued
 * on it), TCP keep-alive notices a peer gone silently, and a slot whose connection could not be
 * made waits before the next attempt (1 s, doubling to 30 s), never one attempt per request.
 */
/** The `application_name` of the pipelined read connections. */
export const PIPELINED_READS = 'sigil-pipelined-reads';
/** How long a pipelined point read may go unanswered before its connection is ended (openPostgres' `pipelinedReadTimeoutMs`). */
export const PIPELINED_READ_TIMEOUT_MS = 10_000;
const RECONNECT_FIRST_MS = 1_000;
const RECONNECT_MOST_MS = 30_000;

class Pipelines {
  private readonly clients: Array<pg.Client | undefined>;
  private readonly ready: boolean[];
  /** Per slot: no new connection before this time (ms), and the wait after the next failure. */
  private readonly retryAt: number[];
  private readonly backoff: number[];
  private turn = 0;
  private corked: pg.Client | undefined;
  private ended = false;

  constructor(
    private readonly url: string,
    size: number,
    private readonly timeoutMs: number,
  ) {
    this.clients = new Array<pg.Client | undefined>(size).fill(undefined);
    this.ready = new Array<boolean>(size).fill(false);
    this.retryAt = new Array<number>(size).fill(0);
    this.backoff = new Array<number>(size).fill(RECONNECT_FIRST_MS);
  }

  /** The connection for this turn of the event loop, corked until the turn ends; undefined while it connects. */
  client(): PgQueryable | undefined {
    if (this.clients.length === 0 || this.ended) return undefined;
    if (this.corked) return this.corked;
    const slot = this.turn++ % this.clients.length;
    const client = this.clients[slot] ?? (Date.now() >= this.retryAt[slot]! ? this.open(slot) : undefined);
    if (!client || !this.ready[slot]) return undefined;
    const stream = (client as unknown as { connection: { stream: { cork(): void; uncork(): void } } }).connection.stream;
    stream.cork();
    this.corked = client;
    setImmediate(() => {
      this.corked = undefined;
      stream.uncork();
    });
    return client;
  }

  private open(slot: number): pg.Client {
    // Named in pg_stat_activity, apart from the pool's connections.
    const client = new NumbersClient({
      connectionString: this.url,
      types: INT8_AS_NUMBER,
      pipeline: true,
      application_name: PIPELINED_READS,
      // Every statement here is planned once per connection, as the index lookups it is made of.
      // The batched GET version (unnest of the turn's questions) and the status reads have array
      // parameters, whose custom plans (sized to each array) look cheaper than a generic plan, so
      // the default mode planned every batch again: about half of the server's work per
      // statement (callgrind of a backend). Hash joins, merge joins and sequential scans are off
      // here so the generic plan is the custom one's nested loop of index lookups whatever the
      // tables' statistics when it is made: with hash joins it hashed the questions against a
      // scan of tokens, and one made on a new, small table scanned versions for every question.
      options: '-c plan_cache_mode=force_generic_plan -c enable_hashjoin=off -c enable_mergejoin=off -c enable_seqscan=off',
      query_timeout: this.timeoutMs,
      connectionTimeoutMillis: this.timeoutMs,
      keepAlive: true,
    } as pg.ClientConfig);
    this.clients[slot] = client;
    let connected = false;
    const drop = () => {
      if (this.clients[slot] !== client) return;
      this.clients[slot] = undefined;
      this.ready[slot] = false;
      // A connection that never came up (or failed at once) makes the slot wait before the next.
      if (!connected) {
        this.retryAt[slot] = Date.now() + this.backoff[slot]!;
        this.backoff[slot] = Math.min(this.backoff[slot]! * 2, RECONNECT_MOST_MS);
      }
      client.end().catch(() => {});
    };
    client.on('error', drop);
    client.on('end', drop);
    client.connect().then(
      () => {
        if (this.clients[slot] !== client) return;
        connected = true;
        this.ready[slot] = true;
        this.backoff[slot] = RECONNECT_FIRST_MS;
      },
      drop,
    );
    return client;
  }

  async end(): Promise<void> {
    this.ended = true;
    const open = this.clients.filter((c) => c !== undefined);
    this.clients.fill(undefined);
    this.ready.fill(false);
    await Promise.all(open.map((c) => c.end().catch(() => {})));
  }
}

class PostgresTx implements Tx {
  readonly dialect = 'postgres' as const;
  /** Set once its COMMIT or ROLLBACK has run: its context no longer makes a handle its own. */
  ended = false;
  constructor(private readonly drizzled: Drizzle) {}
  handle(): Drizzle {
    return this.drizzled;
  }
  idle(): Promise<void> {
    return Promise.resolve();
  }
}

/** An open database of either dialect, as the registry's configuration names it. */
export interface Store {
  readonly dialect: Dialect;
  db: Db;
  raw: RawSql;
  /** Resolves once every connection is closed. */
  close(): Promise<void>;
}

/**
 * PostgreSQL when `url` is given (`postgres://…`), else the SQLite file at `path`; migrated,
 * as openPostgres and openDatabase leave it.
 * @example const store = await openStore({ url: env.SIGIL_DATABASE_URL, path: join(dataDir, 'registry.db') });
 */
export async function openStore(location: { path: string; url?: string | undefined }): Promise<Store> {
  if (location.url) {
    const opened = await openPostgres(location.url);
    return { dialect: 'postgres', db: opened.db, raw: opened.raw, close: opened.close };
  }
  const opened = openDatabase(location.path);
  return { dialect: 'sqlite', db: opened.db, raw: opened.raw, close: async () => opened.close() };
}
