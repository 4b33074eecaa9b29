import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { provisionRegistryKeys } from './registry-process.js';

/** The server the project's machines run (trust authentication); override with SIGIL_TEST_POSTGRES_URL. */
export const TEST_POSTGRES_URL = process.env.SIGIL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database of one's own on the test server: its URL, and `drop()` to remove it (and end its sessions). */
export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/**
 * Creates a fresh, empty PostgreSQL database for one test file (never a shared one): create it
 * in `beforeAll`, drop it in `afterAll`.
 * @example const pgdb = await createTestDatabase(); … await pgdb.drop();
 */
export async function createTestDatabase(prefix = 'sigil_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export type TestDialect = 'sqlite' | 'postgres';

/**
 * The dialect this run's registry suites use: `SIGIL_TEST_DIALECT` (the vitest projects named
 * `… (postgres)` set it to `postgres`), SQLite otherwise. Anything else fails loudly.
 */
export function testDialect(): TestDialect {
  const value = process.env.SIGIL_TEST_DIALECT ?? 'sqlite';
  if (value !== 'sqlite' && value !== 'postgres') throw new Error(`SIGIL_TEST_DIALECT must be sqlite or postgres, not ${value}`);
  return value;
}

/**
 * Where a test's registry keeps its rows, in this run's dialect: the SQLite file in `dataDir`,
 * or a fresh PostgreSQL database of the test's own. `env` is what a registry process needs to
 * use it; `drop()` removes the PostgreSQL database (the SQLite file goes with `dataDir`).
 * @example const store = await createTestStore(dir); const database = await openStore(store); … await database.close(); await store.drop();
 */
export interface TestStore {
  dialect: TestDialect;
  /** The SQLite file (what the registry opens in its data directory when `url` is unset). */
  path: string;
  /** The PostgreSQL database, on `postgres`. */
  url: string | undefined;
  env: Record<string, string>;
  drop(): Promise<void>;
}

/** A store in this run's dialect (or the one given): see TestStore. */
export async function createTestStore(dataDir: string, dialect: TestDialect = testDialect()): Promise<TestStore> {
  const path = join(dataDir, 'registry.db');
  if (dialect === 'sqlite') return { dialect, path, url: undefined, env: {}, drop: async () => {} };
  const database = await createTestDatabase();
  // What a registry process on PostgreSQL must be given: keys made once (it makes none), and
  // where it counts rate limits (here: in the process; a test sharing them sets SIGIL_REDIS_URL).
  await provisionRegistryKeys(dataDir);
  return { dialect, path, url: database.url, env: { SIGIL_DATABASE_URL: database.url, SIGIL_RATE_LIMIT_STORE: 'local' }, drop: database.drop };
}
