import { defineProject } from 'vitest/config';

/**
 * The registry's suites a second time, on PostgreSQL: SIGIL_TEST_DIALECT tells each file's
 * createTestStore to make (and drop) a database of its own on the test server instead of a
 * SQLite file. The same `npm test` runs both projects.
 */
export default defineProject({
  test: {
    name: 'registry (postgres)',
    include: ['src/app.test.ts', 'src/api-contract.test.ts', 'src/identity-ca.test.ts', 'src/fast-reads.test.ts', 'src/fast-status.test.ts', 'src/log.test.ts', 'src/mcp-registry-api.test.ts', 'src/process.test.ts', 'src/search.test.ts'],
    env: { SIGIL_TEST_DIALECT: 'postgres' },
    // Each file creates, migrates and seeds a database of its own before its first test.
    hookTimeout: 60_000,
    // Real databases and processes: on a machine shared with other work a test's reads can pass 5 s.
    testTimeout: 30_000,
  },
});
