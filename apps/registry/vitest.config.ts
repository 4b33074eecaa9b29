import { defineProject } from 'vitest/config';

export default defineProject({
  // Real databases and processes: on a machine shared with other work a test's reads can pass 5 s.
  test: { name: 'registry', include: ['src/**/*.test.ts'], testTimeout: 30_000 },
});
