import { defineProject } from 'vitest/config';

/**
 * The registry's end-to-end and durability suites a second time, on PostgreSQL:
 * SIGIL_TEST_DIALECT tells each file's createTestStore to make (and drop) a database of its own
 * on the test server, which the registry processes are given as SIGIL_DATABASE_URL.
 */
export default defineProject({
  test: {
    name: 'e2e (postgres)',
    include: ['registry-e2e.test.ts', 'registry-durability.test.ts'],
    env: { SIGIL_TEST_DIALECT: 'postgres' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
