import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.js';

export type Db = BetterSQLite3Database<typeof schema>;
/** A transaction handle: queries take `Db | Tx` so they compose inside a write transaction. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type Executor = Db | Tx;

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
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: options.migrationsFolder ?? defaultMigrationsFolder() });
  return {
    db,
    sqlite,
    close: () => {
      if (sqlite.open) sqlite.close();
    },
  };
}
