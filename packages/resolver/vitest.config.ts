import { defineProject } from 'vitest/config';

export default defineProject({
  // Some suites start real MCP servers and registries as child processes: 30 s, not vitest's 5 s,
  // so a test that waits on one fails for what it checks, not for a busy shared machine.
  test: { name: 'resolver', include: ['src/**/*.test.ts'], testTimeout: 30_000 },
});
