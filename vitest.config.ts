import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The *.postgres.config.ts projects run the registry's suites again on PostgreSQL.
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts', 'test/vitest.config.ts', 'apps/registry/vitest.postgres.config.ts', 'test/vitest.postgres.config.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
