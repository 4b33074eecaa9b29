import { randomBytes } from 'node:crypto';
import pg from 'pg';

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
