import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'tlog', include: ['src/**/*.test.ts'] },
});
